// Loads what a query needs before any shard: the pointer, the manifest and the
// model, once per isolate. Concurrent first requests share one load; a failed
// load is forgotten after a short pause so a later request retries it.

import { keys, parseManifest, PointerSchema, type Manifest, type ShardEntry } from '../core/manifest.ts'
import { buildTree, type ClusterTree } from '../core/tree.ts'
import { sha256Hex } from '../core/shard-codec.ts'
import { createSession, type InferenceSession } from './ort.ts'
import { DEFAULT_INDEX_NAME, type Env } from './env.ts'
import { ServiceError } from './errors.ts'

export interface LoadedIndex {
  manifest: Manifest
  tree: ClusterTree
  session: InferenceSession
  /** R2 key prefix of this version; shard keys are relative to it. */
  prefix: string
  shardByNode: Map<number, ShardEntry>
}

const RETRY_AFTER_MS = 2000

let loading: Promise<LoadedIndex> | undefined
let failedAt = 0
let lastError: ServiceError | undefined

export function loadIndex(env: Env): Promise<LoadedIndex> {
  if (!loading && lastError && Date.now() - failedAt < RETRY_AFTER_MS) return Promise.reject(lastError)
  if (!loading) {
    loading = readIndex(env).catch((error: unknown) => {
      loading = undefined
      failedAt = Date.now()
      lastError = error instanceof ServiceError ? error : new ServiceError(503, 'index_unavailable', `index failed to load: ${(error as Error).message}`)
      throw lastError
    })
  }
  return loading
}

async function readIndex(env: Env): Promise<LoadedIndex> {
  const name = env.INDEX_NAME || DEFAULT_INDEX_NAME
  const pointerObject = await env.INDEX.get(keys.pointer(name))
  if (!pointerObject) throw new ServiceError(503, 'index_unavailable', `no index published under "${name}" (missing ${keys.pointer(name)})`)
  const pointer = PointerSchema.parse(await pointerObject.json())
  const manifestObject = await env.INDEX.get(pointer.manifest)
  if (!manifestObject) throw new ServiceError(503, 'index_unavailable', `manifest ${pointer.manifest} is missing`)
  const manifest = parseManifest(await manifestObject.json())
  const prefix = keys.versionPrefix(name, manifest.version)
  const modelBytes = await readVerified(env, prefix + manifest.model.key, manifest.model.sha256)
  const session = await createSession(modelBytes)
  return {
    manifest,
    tree: buildTree(manifest.tree),
    session,
    prefix,
    shardByNode: new Map(manifest.shards.map((s) => [s.node, s])),
  }
}

/** Reads an object and checks it against the manifest's digest. */
export async function readVerified(env: Env, key: string, sha256: string): Promise<Uint8Array> {
  const object = await env.INDEX.get(key)
  if (!object) throw new ServiceError(503, 'index_unavailable', `object ${key} is missing`)
  const bytes = new Uint8Array(await object.arrayBuffer())
  const actual = await sha256Hex(bytes)
  if (actual !== sha256) throw new ServiceError(503, 'index_unavailable', `object ${key} does not match its sha256`)
  return bytes
}
