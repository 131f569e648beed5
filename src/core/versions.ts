// Published versions of an index in an object store: which exist, whether each
// is complete, which pointers name them; moving a pointer (publish, rollback)
// and deleting versions no pointer names (gc). Pure over ObjectStore, so the
// CLI runs it against local or remote R2 and the workerd tests against a binding.

import { keys, manifestObjects, parseManifest, PointerSchema, POINTER_NAME, type Manifest, type Pointer } from './manifest.ts'
import { DELETE_BATCH, listAll, type ObjectStore, type StoredObject } from './object-store.ts'

export class VersionError extends Error {
  override name = 'VersionError'
}

export interface VersionInfo {
  version: string
  objects: number
  bytes: number
  /** Newest upload among the version's objects: when it was (last) published here. */
  lastUploaded: Date
  /** Absent when the manifest is missing or unreadable. */
  manifest?: Manifest
  /** Why the version cannot be served; absent when complete. */
  problem?: string
  /** Names of the pointers that name this version. */
  pointers: string[]
}

/** The pointers of an index (`<name>/<pointer>.json`), by pointer name. */
export async function readPointers(store: ObjectStore, name: string): Promise<Map<string, Pointer>> {
  const { objects } = await listAll(store, { prefix: `${name}/`, delimiter: '/' })
  const pointers = new Map<string, Pointer>()
  for (const object of objects) {
    const pointerName = object.key.slice(name.length + 1).replace(/\.json$/, '')
    if (!object.key.endsWith('.json') || !POINTER_NAME.test(pointerName)) continue
    const body = await store.get(object.key)
    if (!body) continue // deleted since the listing
    try {
      pointers.set(pointerName, PointerSchema.parse(JSON.parse(new TextDecoder().decode(await body.arrayBuffer()))))
    } catch {
      throw new VersionError(`pointer ${object.key} is not a valid pointer; fix or delete it first`)
    }
  }
  return pointers
}

/** Every version stored under the index name, newest first. */
export async function listVersions(store: ObjectStore, name: string): Promise<VersionInfo[]> {
  const prefix = keys.versionsPrefix(name)
  const [{ objects }, pointers] = await Promise.all([listAll(store, { prefix, include: ['customMetadata'] }), readPointers(store, name)])
  const byVersion = new Map<string, StoredObject[]>()
  for (const object of objects) {
    const version = object.key.slice(prefix.length).split('/')[0]
    if (!byVersion.has(version)) byVersion.set(version, [])
    byVersion.get(version)!.push(object)
  }
  const versions: VersionInfo[] = []
  for (const [version, stored] of byVersion) {
    const { manifest, problem } = await inspect(store, name, version, stored)
    versions.push({
      version,
      objects: stored.length,
      bytes: stored.reduce((sum, o) => sum + o.size, 0),
      lastUploaded: new Date(Math.max(...stored.map((o) => new Date(o.uploaded).getTime()))),
      manifest,
      problem,
      pointers: [...pointers].filter(([, p]) => p.version === version).map(([pointerName]) => pointerName).sort(),
    })
  }
  return versions.sort((a, b) => b.lastUploaded.getTime() - a.lastUploaded.getTime() || b.version.localeCompare(a.version))
}

/** Reads a version's manifest and checks that every object it lists is stored with the right size (and sha256, when the store reports it). */
export async function checkVersion(store: ObjectStore, name: string, version: string): Promise<{ manifest?: Manifest; problem?: string }> {
  const { objects } = await listAll(store, { prefix: keys.versionPrefix(name, version), include: ['customMetadata'] })
  return inspect(store, name, version, objects)
}

async function inspect(store: ObjectStore, name: string, version: string, stored: StoredObject[]): Promise<{ manifest?: Manifest; problem?: string }> {
  const prefix = keys.versionPrefix(name, version)
  const byKey = new Map(stored.map((o) => [o.key, o]))
  if (!byKey.has(keys.manifest(name, version))) return { problem: stored.length ? 'no manifest (an interrupted publish?)' : 'not found' }
  let manifest: Manifest
  try {
    const body = await store.get(keys.manifest(name, version))
    if (!body) return { problem: 'no manifest' }
    manifest = parseManifest(JSON.parse(new TextDecoder().decode(await body.arrayBuffer())))
  } catch (error) {
    return { problem: `unreadable manifest: ${(error as Error).message.slice(0, 200)}` }
  }
  if (manifest.version !== version) return { manifest, problem: `its manifest names version ${manifest.version}` }
  for (const entry of manifestObjects(manifest)) {
    const object = byKey.get(prefix + entry.key)
    if (!object) return { manifest, problem: `missing ${entry.key}` }
    if (object.size !== entry.bytes) return { manifest, problem: `${entry.key} has ${object.size} bytes, the manifest says ${entry.bytes}` }
    const sha256 = object.customMetadata?.sha256
    if (sha256 !== undefined && sha256 !== entry.sha256) return { manifest, problem: `${entry.key} does not match the manifest's sha256` }
  }
  return { manifest }
}

/** Points `<name>/<pointer>.json` at a version, and reads it back. The caller has checked the version is complete. */
export async function writePointer(store: ObjectStore, name: string, pointerName: string, version: string, now = new Date()): Promise<Pointer> {
  if (!POINTER_NAME.test(pointerName)) throw new VersionError(`invalid pointer name "${pointerName}" (expected ${POINTER_NAME.source})`)
  const pointer: Pointer = PointerSchema.parse({ version, manifest: keys.manifest(name, version), publishedAt: now.toISOString() })
  const key = keys.pointer(name, pointerName)
  const text = JSON.stringify(pointer)
  await store.put(key, text, { httpMetadata: { contentType: 'application/json' } })
  const stored = await store.get(key)
  if (!stored || new TextDecoder().decode(await stored.arrayBuffer()) !== text) throw new VersionError(`pointer ${key} did not read back as written; run the command again`)
  return pointer
}

/** Moves a pointer to a version already published; refuses one that is not complete. */
export async function rollback(store: ObjectStore, name: string, pointerName: string, version: string): Promise<{ previous?: Pointer; pointer: Pointer }> {
  const { problem } = await checkVersion(store, name, version)
  if (problem) throw new VersionError(`version ${version} of "${name}" cannot be served: ${problem}`)
  const previous = (await readPointers(store, name)).get(pointerName)
  return { previous, pointer: await writePointer(store, name, pointerName, version) }
}

export interface GcResult {
  deleted: VersionInfo[]
  kept: VersionInfo[]
}

/**
 * Deletes every version except the `keep` most recently published complete ones
 * (the rollback targets), those any pointer names, and an incomplete one among the
 * `keep` newest (it may be a publish in flight; an abandoned upload must not take a
 * complete version's place). A version's manifest goes first, so a half-deleted
 * version is already incomplete and nothing can point at it.
 */
export async function collectGarbage(store: ObjectStore, name: string, keep: number, options: { dryRun?: boolean } = {}): Promise<GcResult> {
  if (!Number.isInteger(keep) || keep < 0) throw new VersionError('keep must be a non-negative integer')
  const versions = await listVersions(store, name)
  const newestComplete = new Set(versions.filter((v) => v.problem === undefined).slice(0, keep))
  const kept = versions.filter((v, i) => v.pointers.length > 0 || newestComplete.has(v) || (v.problem !== undefined && i < keep))
  const deleted = versions.filter((v) => !kept.includes(v))
  if (!options.dryRun) {
    for (const version of [...deleted]) {
      // A rollback may have pointed at it since the listing: look again right before deleting.
      const named = [...(await readPointers(store, name)).values()].some((p) => p.version === version.version)
      if (named) {
        deleted.splice(deleted.indexOf(version), 1)
        kept.push(version)
        continue
      }
      const { objects } = await listAll(store, { prefix: keys.versionPrefix(name, version.version) })
      const manifestKey = keys.manifest(name, version.version)
      const rest = objects.map((o) => o.key).filter((key) => key !== manifestKey)
      if (objects.length !== rest.length) await store.delete(manifestKey)
      for (let i = 0; i < rest.length; i += DELETE_BATCH) await store.delete(rest.slice(i, i + DELETE_BATCH))
    }
  }
  return { deleted, kept }
}
