// Publishing one index version: plan → check the files → upload or skip →
// verify → move the pointer. Readers follow the pointer, which moves only after
// every object is stored and verified, so they see the old version or the new
// one, never a mix. Objects already stored with the same sha256 are skipped,
// so an interrupted publish is finished by running it again.
//
// Pure over ObjectStore and IndexFiles: the Node CLI reads files from disk, the
// workerd tests from inject(), and both run this same code.

import { INDEX_NAME_RULE, isIndexName, keys, manifestObjects, parseManifest, POINTER_NAME, type Manifest, type Pointer } from './manifest.ts'
import { forEachLimited, type ObjectStore, type StoredObject } from './object-store.ts'
import { sha256Hex } from './shard-codec.ts'
import { checkVersion, writePointer } from './versions.ts'

/** The files of one index folder, by path relative to it (`manifest.json`, `model.onnx`, `shards/…`, `display/…`, `lexicon/…`). */
export interface IndexFiles {
  read(path: string): Promise<Uint8Array>
}

/** Where a version goes: the index name (R2 prefix) and the pointer to move. */
export interface PublishTarget {
  name: string
  pointer: string
}

export interface PlannedObject {
  key: string
  /** Path inside the index folder. */
  path: string
  sha256: string
  bytes: number
  contentType: string
}

export interface PublishPlan {
  manifest: Manifest
  target: PublishTarget
  /** The manifest is last: a version is complete once its manifest is stored. */
  objects: PlannedObject[]
  pointerKey: string
}

export interface PublishProgress {
  objects: number
  totalObjects: number
  skipped: number
  /** Bytes of the objects handled so far, uploaded or skipped. */
  bytes: number
  totalBytes: number
}

export interface PublishOptions {
  /** Objects uploaded at once. */
  concurrency?: number
  onProgress?: (progress: PublishProgress) => void
  now?: () => Date
}

export interface PublishSummary {
  name: string
  version: string
  pointer: Pointer
  pointerKey: string
  uploaded: number
  skipped: number
  /** Bytes actually uploaded (skipped objects excluded). */
  bytes: number
}

export class PublishError extends Error {
  override name = 'PublishError'
}

export const MANIFEST_FILE = 'manifest.json'
const DEFAULT_CONCURRENCY = 4

export async function planPublish(manifestBytes: Uint8Array, target: PublishTarget): Promise<PublishPlan> {
  if (!POINTER_NAME.test(target.pointer)) throw new PublishError(`invalid pointer name "${target.pointer}"`)
  if (!isIndexName(target.name)) throw new PublishError(`invalid index name "${target.name}" (${INDEX_NAME_RULE})`)
  const manifest = parseManifest(JSON.parse(new TextDecoder().decode(manifestBytes)))
  const prefix = keys.versionPrefix(target.name, manifest.version)
  const objects: PlannedObject[] = [
    ...manifestObjects(manifest).map((o) => ({ key: prefix + o.key, path: o.key, sha256: o.sha256, bytes: o.bytes, contentType: o.contentType })),
    { key: keys.manifest(target.name, manifest.version), path: MANIFEST_FILE, sha256: await sha256Hex(manifestBytes), bytes: manifestBytes.length, contentType: 'application/json' },
  ]
  return { manifest, target, objects, pointerKey: keys.pointer(target.name, target.pointer) }
}

/** True when the store already holds exactly this object (sha256 recorded at upload, and size). */
export function alreadyStored(existing: StoredObject | null, object: PlannedObject): boolean {
  return existing?.customMetadata?.sha256 === object.sha256 && existing.size === object.bytes
}

/** What a publish would do, touching nothing: each object with whether it is already there (all "upload" without a store). */
export async function previewPublish(plan: PublishPlan, store: ObjectStore | null): Promise<{ object: PlannedObject; stored: boolean }[]> {
  const stored = new Array<boolean>(plan.objects.length).fill(false)
  if (store) await forEachLimited(plan.objects, 8, async (object, i) => void (stored[i] = alreadyStored(await store.head(object.key), object)))
  return plan.objects.map((object, i) => ({ object, stored: stored[i] }))
}

/** Reads every file once and compares it with the manifest, so a damaged folder never reaches the store. */
export async function checkFiles(plan: PublishPlan, files: IndexFiles): Promise<void> {
  for (const object of plan.objects) await readChecked(files, object)
}

export async function publish(plan: PublishPlan, files: IndexFiles, store: ObjectStore, options: PublishOptions = {}): Promise<PublishSummary> {
  await checkFiles(plan, files)
  const { manifest, target } = plan
  const progress: PublishProgress = { objects: 0, totalObjects: plan.objects.length, skipped: 0, bytes: 0, totalBytes: plan.objects.reduce((s, o) => s + o.bytes, 0) }
  let uploadedBytes = 0
  const handle = async (object: PlannedObject) => {
    if (alreadyStored(await store.head(object.key), object)) {
      progress.skipped++
    } else {
      const body = await readChecked(files, object)
      await store.put(object.key, body, { customMetadata: { sha256: object.sha256 }, httpMetadata: { contentType: object.contentType } })
      await verifyStored(store, object)
      uploadedBytes += body.length
    }
    progress.objects++
    progress.bytes += object.bytes
    options.onProgress?.({ ...progress })
  }
  const manifestObject = plan.objects[plan.objects.length - 1]
  await forEachLimited(plan.objects.slice(0, -1), options.concurrency ?? DEFAULT_CONCURRENCY, handle)
  await handle(manifestObject)
  // Listed once more before the pointer moves: nothing (a concurrent gc, a manual delete) removed an object meanwhile.
  const { problem } = await checkVersion(store, target.name, manifest.version)
  if (problem) throw new PublishError(`${target.name}@${manifest.version} is not complete after upload (${problem}); the pointer was not moved, run publish again`)
  const pointer = await writePointer(store, target.name, target.pointer, manifest.version, options.now?.())
  return { name: target.name, version: manifest.version, pointer, pointerKey: plan.pointerKey, uploaded: plan.objects.length - progress.skipped, skipped: progress.skipped, bytes: uploadedBytes }
}

async function readChecked(files: IndexFiles, object: PlannedObject): Promise<Uint8Array> {
  let bytes: Uint8Array
  try {
    bytes = await files.read(object.path)
  } catch (error) {
    throw new PublishError(`${object.path}: cannot read it (${(error as Error).message}); the index folder is incomplete, rebuild it`)
  }
  if ((await sha256Hex(bytes)) !== object.sha256) throw new PublishError(`${object.path} does not match the manifest's sha256: the index folder is damaged, rebuild it`)
  return bytes
}

async function verifyStored(store: ObjectStore, object: PlannedObject): Promise<void> {
  const stored = await store.get(object.key)
  const sha = stored ? await sha256Hex(new Uint8Array(await stored.arrayBuffer())) : 'missing'
  if (sha !== object.sha256) throw new PublishError(`upload of ${object.key} did not verify (read back ${sha.slice(0, 12)}…); run publish again`)
}
