// The slice of an object store that publishing and version management need.
// An R2Bucket binding satisfies it as it is (inside workerd, or from Node
// through wrangler's platform proxy); scripts/s3-store.ts implements it over
// R2's S3-compatible API for remote buckets.

export interface StoredObject {
  key: string
  size: number
  uploaded: Date
  /** Present on head(); on list() only when asked for with `include` (R2) and never over S3. */
  customMetadata?: Record<string, string>
}

export interface ObjectBody {
  arrayBuffer(): Promise<ArrayBuffer>
}

export interface PutOptions {
  customMetadata?: Record<string, string>
  httpMetadata?: { contentType?: string }
}

export interface ListOptions {
  prefix?: string
  delimiter?: string
  cursor?: string
  limit?: number
  include?: ('customMetadata' | 'httpMetadata')[]
}

export interface ListPage {
  objects: StoredObject[]
  delimitedPrefixes: string[]
  truncated: boolean
  cursor?: string
}

export interface ObjectStore {
  head(key: string): Promise<StoredObject | null>
  get(key: string): Promise<ObjectBody | null>
  put(key: string, value: Uint8Array | string, options?: PutOptions): Promise<unknown>
  delete(keys: string | string[]): Promise<void>
  list(options?: ListOptions): Promise<ListPage>
}

/** Every object under a prefix, following list cursors. */
export async function listAll(store: ObjectStore, options: Omit<ListOptions, 'cursor'>): Promise<{ objects: StoredObject[]; delimitedPrefixes: string[] }> {
  const objects: StoredObject[] = []
  const delimitedPrefixes: string[] = []
  let cursor: string | undefined
  do {
    const page = await store.list({ ...options, cursor })
    objects.push(...page.objects)
    delimitedPrefixes.push(...page.delimitedPrefixes)
    cursor = page.truncated ? page.cursor : undefined
  } while (cursor)
  return { objects, delimitedPrefixes }
}

/** R2 deletes at most 1,000 keys per call. */
export const DELETE_BATCH = 1000

/** Runs `work` over `items` with at most `limit` in flight; the first failure stops new work and is rethrown once all in flight have settled. */
export async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0
  let failure: { error: unknown } | undefined
  const worker = async () => {
    while (!failure && next < items.length) {
      const i = next++
      try {
        await work(items[i], i)
      } catch (error) {
        failure ??= { error }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker))
  if (failure) throw failure.error
}
