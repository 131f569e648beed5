// `gdr publish`: uploads an index folder under its versioned prefix, verifies
// every object by reading it back, and only then moves the pointer, so readers
// see the old version or the new one, never a mix. Objects already present
// with the same sha256 are skipped, so an interrupted publish can be rerun.

import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { keys, parseManifest, type Manifest, type Pointer } from '../src/core/manifest.ts'
import { sha256Hex } from '../src/core/shard-codec.ts'
import type { Reporter } from './progress.ts'

/** The part of an R2 bucket binding that publishing uses (R2Bucket satisfies it). */
export interface ObjectStore {
  head(key: string): Promise<{ customMetadata?: Record<string, string> } | null>
  get(key: string): Promise<{ arrayBuffer(): Promise<ArrayBuffer> } | null>
  put(key: string, value: Uint8Array | string, options?: { customMetadata?: Record<string, string>; httpMetadata?: { contentType?: string } }): Promise<unknown>
}

export class IndexFolderError extends Error {
  override name = 'IndexFolderError'
}

export function readIndexManifest(dir: string): Manifest {
  const path = join(resolve(dir), 'manifest.json')
  let json: unknown
  try {
    json = JSON.parse(readFileSync(path, 'utf8'))
  } catch (error) {
    throw new IndexFolderError(`${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found (run gdr build first)' : (error as Error).message}`)
  }
  try {
    return parseManifest(json)
  } catch (error) {
    throw new IndexFolderError(`${path}: not a valid index manifest: ${(error as Error).message.slice(0, 300)}`)
  }
}

interface PlannedObject {
  key: string
  file: string
  sha256: string
  bytes: number
  contentType: string
}

export interface PublishSummary {
  version: string
  uploaded: number
  skipped: number
  bytes: number
}

export async function publishIndex(dir: string, store: ObjectStore, reporter: Reporter): Promise<PublishSummary> {
  const manifest = readIndexManifest(dir)
  const prefix = keys.versionPrefix(manifest.name, manifest.version)
  const manifestText = readFileSync(join(resolve(dir), 'manifest.json'))
  const objects: PlannedObject[] = [
    { key: prefix + manifest.model.key, file: manifest.model.key, sha256: manifest.model.sha256, bytes: manifest.model.bytes, contentType: 'application/octet-stream' },
    ...manifest.shards.map((s) => ({ key: prefix + s.key, file: s.key, sha256: s.sha256, bytes: s.bytes, contentType: 'application/msgpack' })),
    // The manifest goes last: a version is complete once its manifest is there.
    { key: keys.manifest(manifest.name, manifest.version), file: 'manifest.json', sha256: await sha256Hex(manifestText), bytes: manifestText.length, contentType: 'application/json' },
  ]
  // Check the whole folder first: a damaged index must not reach the store at all.
  for (const object of objects) {
    const actual = await sha256Hex(readFileSync(join(resolve(dir), object.file)))
    if (actual !== object.sha256) throw new IndexFolderError(`${object.file} does not match the manifest's sha256: the index folder is damaged, rebuild it`)
  }
  const stage = reporter.stage('publish', objects.length, 'objects')
  let uploaded = 0
  let skipped = 0
  let bytes = 0
  for (const [i, object] of objects.entries()) {
    const existing = await store.head(object.key)
    if (existing?.customMetadata?.sha256 === object.sha256) {
      skipped++
    } else {
      const body = readFileSync(join(resolve(dir), object.file))
      await store.put(object.key, body, { customMetadata: { sha256: object.sha256 }, httpMetadata: { contentType: object.contentType } })
      await verifyStored(store, object)
      uploaded++
      bytes += body.length
    }
    stage.tick(i + 1)
  }
  const pointer: Pointer = { version: manifest.version, manifest: keys.manifest(manifest.name, manifest.version), publishedAt: new Date().toISOString() }
  await store.put(keys.pointer(manifest.name), JSON.stringify(pointer), { httpMetadata: { contentType: 'application/json' } })
  stage.done(`${manifest.name}@${manifest.version}: ${uploaded} uploaded (${(bytes / 1048576).toFixed(1)} MiB), ${skipped} already there`)
  return { version: manifest.version, uploaded, skipped, bytes }
}

async function verifyStored(store: ObjectStore, object: PlannedObject): Promise<void> {
  const stored = await store.get(object.key)
  const sha = stored ? await sha256Hex(new Uint8Array(await stored.arrayBuffer())) : 'missing'
  if (sha !== object.sha256) throw new Error(`upload of ${object.key} did not verify (read back ${sha.slice(0, 12)}…); rerun gdr publish`)
}
