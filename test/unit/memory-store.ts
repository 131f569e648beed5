// An in-memory ObjectStore with R2's list semantics (prefix, delimiter, cursor, limit), for Node tests.
import type { ListOptions, ListPage, ObjectStore, PutOptions, StoredObject } from '../../src/core/object-store.ts'

interface Entry {
  body: Uint8Array
  customMetadata?: Record<string, string>
  uploaded: Date
}

export class MemoryStore implements ObjectStore {
  objects = new Map<string, Entry>()
  writes: string[] = []

  async head(key: string): Promise<StoredObject | null> {
    const o = this.objects.get(key)
    return o ? { key, size: o.body.length, uploaded: o.uploaded, customMetadata: o.customMetadata } : null
  }
  async get(key: string) {
    const o = this.objects.get(key)
    return o ? { arrayBuffer: async () => o.body.slice().buffer as ArrayBuffer } : null
  }
  async put(key: string, value: Uint8Array | string, options?: PutOptions) {
    this.writes.push(key)
    const body = typeof value === 'string' ? new TextEncoder().encode(value) : new Uint8Array(value)
    this.objects.set(key, { body, customMetadata: options?.customMetadata, uploaded: new Date() })
  }
  async delete(keys: string | string[]) {
    for (const key of typeof keys === 'string' ? [keys] : keys) this.objects.delete(key)
  }
  async list(options: ListOptions = {}): Promise<ListPage> {
    const prefix = options.prefix ?? ''
    const limit = options.limit ?? 1000
    const all = [...this.objects.keys()].filter((k) => k.startsWith(prefix) && (!options.cursor || k > options.cursor)).sort()
    const objects: StoredObject[] = []
    const delimitedPrefixes = new Set<string>()
    let last: string | undefined
    for (const key of all) {
      if (objects.length + delimitedPrefixes.size >= limit) return { objects, delimitedPrefixes: [...delimitedPrefixes], truncated: true, cursor: last }
      const rest = key.slice(prefix.length)
      const cut = options.delimiter ? rest.indexOf(options.delimiter) : -1
      if (cut >= 0) delimitedPrefixes.add(prefix + rest.slice(0, cut + 1))
      else objects.push((await this.head(key))!)
      last = key
    }
    return { objects, delimitedPrefixes: [...delimitedPrefixes], truncated: false }
  }
  text(key: string): string {
    return new TextDecoder().decode(this.objects.get(key)!.body)
  }
}
