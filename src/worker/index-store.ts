// Which index version a request runs on. The first request of an isolate loads
// the version the pointer names (pointer → manifest → verified model); later
// requests get it at once. The pointer is re-read at most every
// POINTER_TTL_SECONDS, in the background (ctx.waitUntil): a new version is
// loaded while requests keep getting the old one, and is swapped in only once
// fully loaded, so no request waits for a model load after the first. A
// request keeps the LoadedIndex it started with and finishes on that version.
// A new version that fails to load is logged and the old one keeps serving;
// the next pointer check tries again. A replaced version is garbage once the
// last request holding it is done.

import { CentroidTable } from '../core/centroids.ts'
import { LeafDocuments } from '../core/lexical.ts'
import { CENTROIDS_KEY, keys, MODEL_KEY, parseManifest, PointerSchema, type Manifest, type Pointer, type ShardEntry } from '../core/manifest.ts'
import { buildTree, type ClusterTree } from '../core/tree.ts'
import { ModelFileError, modelMismatch, QueryModelRuntime } from '../core/query-runtime.ts'
import { decodeLeafCentroids, sha256Hex } from '../core/shard-codec.ts'
import { workerDenseKernel, workerLexicalKernel } from './kernel.ts'
import type { Env } from './env.ts'
import { ServiceError } from './errors.ts'
import type { LoadTimings } from './server-timing.ts'
import { settingsOf as workerSettingsOf } from './settings.ts'

export interface LoadedIndex {
  name: string
  /** The pointer this version was read from, as it was then. */
  pointer: Pointer
  manifest: Manifest
  tree: ClusterTree
  /** The query model (model.onnx), ready to run. */
  model: QueryModelRuntime
  /** Every leaf's centroid: routing's dense estimate of a leaf. */
  centroids: CentroidTable
  /** R2 key prefix of this version; shard keys are relative to it. */
  prefix: string
  /** By node: each leaf's manifest entry and the full keys of its objects (undefined for other nodes). */
  leafByNode: readonly (LeafObjects | undefined)[]
  /** Lexical routing's per-leaf working arrays (src/core/lexical.ts). */
  leafDocuments: LeafDocuments
  /** How long each step of loading this version took (Server-Timing of the requests that waited for it). */
  loadTimings: LoadTimings
}

/**
 * A leaf as a search reads it. Made once per version: a search reads ~30 leaves a
 * query, and the keys made here keep their hashes, which the shard cache's lookups
 * would otherwise compute again for strings joined anew each time.
 */
export interface LeafObjects {
  entry: ShardEntry
  shardKey: string
  displayKey: string
}

/** What a request can start reading before its version's model is loaded: the manifest and the version's key prefix. */
export interface VersionLayout {
  manifest: Manifest
  prefix: string
}

type WaitUntil = Pick<ExecutionContext, 'waitUntil'>

interface IndexSettings {
  name: string
  pointerKey: string
  ttlMs: number
}

interface Served {
  index: LoadedIndex
  /** When the pointer was last read (or a read started). */
  checkedAt: number
  refreshing?: Promise<void>
}

/** After a failed first load, requests fail fast for this long instead of all retrying at once. */
const RETRY_AFTER_MS = 2000
/** A stuck R2 read while loading fails the load (503, retried later) instead of hanging every request. */
const LOAD_READ_DEADLINE_MS = 10_000

function withDeadline<T>(read: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ServiceError(503, 'index_unavailable', `${what} was not read within ${LOAD_READ_DEADLINE_MS} ms`)), LOAD_READ_DEADLINE_MS)
  })
  return Promise.race([read, deadline]).finally(() => clearTimeout(timer))
}

// Per isolate, by pointer key: what is served, first loads in flight, recent first-load failures.
const served = new Map<string, Served>()
const firstLoads = new Map<string, Promise<LoadedIndex>>()
const firstLoadLayouts = new Map<string, Promise<VersionLayout>>()
const firstLoadFailures = new Map<string, { at: number; error: ServiceError }>()

/** The index version served now. `ctx` keeps a background pointer check alive past the response. */
export async function currentIndex(env: Env, ctx?: WaitUntil): Promise<LoadedIndex> {
  const settings = indexSettingsOf(env)
  return pickServed(env, settings, ctx) ?? firstLoad(env, settings)
}

/**
 * During an isolate's first load, that load's layout, as soon as its manifest is
 * parsed (the model and leaf centroids are still being read and checked). Undefined otherwise: once
 * a version is served a request reads its own lexicon parts at once, and with
 * invalid settings acquireIndex reports the problem.
 */
export function firstLoadLayout(env: Env): Promise<VersionLayout> | undefined {
  let settings: IndexSettings
  try {
    settings = indexSettingsOf(env)
  } catch {
    return undefined
  }
  return served.has(settings.pointerKey) ? undefined : firstLoadLayouts.get(settings.pointerKey)
}

/** The version a request runs on, and, when the request waited for the isolate's first load, that load's steps. */
export interface Lease {
  index: LoadedIndex
  load?: LoadTimings
}

export async function acquireIndex(env: Env, ctx?: WaitUntil): Promise<Lease> {
  const settings = indexSettingsOf(env)
  const picked = pickServed(env, settings, ctx)
  if (picked) return { index: picked }
  const loaded = await firstLoad(env, settings)
  return { index: served.get(settings.pointerKey)?.index ?? loaded, load: loaded.loadTimings }
}

/** The served version, starting a background pointer check when one is due; undefined before the first load. */
function pickServed(env: Env, settings: IndexSettings, ctx?: WaitUntil): LoadedIndex | undefined {
  const state = served.get(settings.pointerKey)
  if (!state) return undefined
  if (!state.refreshing && Date.now() - state.checkedAt >= settings.ttlMs) {
    state.checkedAt = Date.now()
    // Cleared however the check ends, so one failed check never stops later ones;
    // it always ends, as its R2 reads have the load deadline.
    state.refreshing = refresh(env, settings, state).finally(() => (state.refreshing = undefined))
    ctx?.waitUntil(state.refreshing)
  }
  return state.index
}

function firstLoad(env: Env, settings: IndexSettings): Promise<LoadedIndex> {
  const key = settings.pointerKey
  const failure = firstLoadFailures.get(key)
  if (failure && Date.now() - failure.at < RETRY_AFTER_MS) return Promise.reject(failure.error)
  let loading = firstLoads.get(key)
  if (!loading) {
    let announce!: (layout: VersionLayout) => void
    let fail!: (error: unknown) => void
    const layout = new Promise<VersionLayout>((resolve, reject) => ((announce = resolve), (fail = reject)))
    layout.catch(() => {}) // nobody may be waiting for it
    firstLoadLayouts.set(key, layout)
    loading = (async () => {
      try {
        const timings: LoadTimings = {}
        const pointer = await step(timings, 'pointer', () => readPointer(env, settings))
        if (!pointer) throw new ServiceError(503, 'index_unavailable', `no index published under "${settings.name}" (missing ${key})`)
        const index = await loadVersion(env, settings, pointer, timings, announce)
        served.set(key, { index, checkedAt: Date.now() })
        firstLoadFailures.delete(key)
        return index
      } catch (error) {
        const serviceError = asServiceError(error)
        firstLoadFailures.set(key, { at: Date.now(), error: serviceError })
        fail(serviceError)
        throw serviceError
      } finally {
        firstLoads.delete(key)
        firstLoadLayouts.delete(key)
      }
    })()
    firstLoads.set(key, loading)
  }
  return loading
}

async function refresh(env: Env, settings: IndexSettings, state: Served): Promise<void> {
  try {
    const pointer = await readPointer(env, settings)
    if (!pointer) return void console.warn(`pointer ${settings.pointerKey} is gone; still serving ${state.index.manifest.version}`)
    if (pointer.version === state.index.pointer.version) {
      state.index.pointer = pointer // republished as is: only publishedAt changed
      // A version whose manifest was deleted is no longer published: stop serving it,
      // so requests get 503 (and retry after the pause) until it is back.
      if (!(await withDeadline(env.INDEX.head(pointer.manifest), `manifest ${pointer.manifest}`))) {
        console.error(`manifest ${pointer.manifest} is gone; no longer serving ${state.index.manifest.version}`)
        if (served.get(settings.pointerKey) === state) served.delete(settings.pointerKey)
      }
      return
    }
    state.index = await loadVersion(env, settings, pointer)
  } catch (error) {
    console.error(`could not switch ${settings.pointerKey} to a new version; still serving ${state.index.manifest.version}: ${(error as Error).message}`)
  }
}

async function readPointer(env: Env, settings: IndexSettings): Promise<Pointer | null> {
  const text = await readWithinDeadline(env, settings.pointerKey, `pointer ${settings.pointerKey}`, (object) => object.text())
  if (text === null) return null
  const parsed = PointerSchema.safeParse(parseJsonOrUndefined(text))
  if (!parsed.success) throw new ServiceError(503, 'index_unavailable', `pointer ${settings.pointerKey} is malformed`)
  return parsed.data
}

function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** Runs `work`, recording in `timings[name]` how long it took. */
async function step<T>(timings: LoadTimings, name: keyof LoadTimings, work: () => T | Promise<T>): Promise<T> {
  const started = Date.now()
  try {
    return await work()
  } finally {
    timings[name] = Date.now() - started
  }
}

/** `onLayout`: told the manifest and prefix as soon as they are known, before the model is read. */
async function loadVersion(env: Env, settings: IndexSettings, pointer: Pointer, timings: LoadTimings = {}, onLayout?: (layout: VersionLayout) => void): Promise<LoadedIndex> {
  // The prefix, and so every shard cache key, is derived from the version: a pointer elsewhere would break that.
  if (pointer.manifest !== keys.manifest(settings.name, pointer.version)) {
    throw new ServiceError(503, 'index_unavailable', `pointer ${settings.pointerKey} names ${pointer.manifest}, not the manifest of version ${pointer.version}`)
  }
  // The model and the leaf centroids are read while the manifest is read and parsed:
  // builds always put them at MODEL_KEY and CENTROIDS_KEY, and the manifest's digests
  // still decide whether the bytes are used.
  const prefix = keys.versionPrefix(settings.name, pointer.version)
  const guessedModel = step(timings, 'model', () => readObject(env, prefix + MODEL_KEY))
  guessedModel.catch(() => {}) // a missing manifest is reported first
  const guessedCentroids = readObject(env, prefix + CENTROIDS_KEY)
  guessedCentroids.catch(() => {})
  const manifestText = await step(timings, 'manifest', async () => {
    const text = await readWithinDeadline(env, pointer.manifest, `manifest ${pointer.manifest}`, (object) => object.text())
    if (text === null) throw new ServiceError(503, 'index_unavailable', `manifest ${pointer.manifest} is missing`)
    return text
  })
  const manifest = await step(timings, 'parse', () => parseManifest(JSON.parse(manifestText)))
  if (manifest.version !== pointer.version) throw new ServiceError(503, 'index_unavailable', `manifest ${pointer.manifest} is of version ${manifest.version}`)
  onLayout?.({ manifest, prefix })
  const tree = buildTree(manifest.tree)
  const centroidsKey = prefix + manifest.centroids.key
  const centroids = step(timings, 'centroids', async () => checkCentroids(centroidsKey, await (manifest.centroids.key === CENTROIDS_KEY ? guessedCentroids : readObject(env, centroidsKey)), manifest, tree))
  centroids.catch(() => {}) // a bad model is reported first
  const modelKey = prefix + manifest.model.key
  const modelBytes = manifest.model.key === MODEL_KEY ? await guessedModel : await step(timings, 'model', () => readObject(env, modelKey))
  await step(timings, 'verify', () => checkDigest(modelKey, modelBytes, manifest.model.sha256))
  const model = await step(timings, 'runtime', () => {
    try {
      return new QueryModelRuntime(modelBytes, workerDenseKernel())
    } catch (error) {
      if (error instanceof ModelFileError) throw new ServiceError(503, 'index_unavailable', `object ${modelKey} is not a model this Worker runs: ${error.message}`)
      throw error
    }
  })
  const mismatch = modelMismatch(model, manifest)
  if (mismatch) throw new ServiceError(503, 'index_unavailable', `object ${modelKey} does not fit this version: ${mismatch}`)
  const table = await centroids
  return {
    name: settings.name,
    pointer,
    manifest,
    tree,
    model,
    centroids: table,
    prefix,
    leafByNode: leafObjects(manifest.shards, tree.size, prefix),
    leafDocuments: new LeafDocuments(manifest.shards, manifest.tree.parent.length, workerLexicalKernel()),
    loadTimings: timings,
  }
}

function leafObjects(shards: readonly ShardEntry[], nodes: number, prefix: string): (LeafObjects | undefined)[] {
  const byNode: (LeafObjects | undefined)[] = Array.from({ length: nodes }, () => undefined)
  for (const entry of shards) byNode[entry.node] = { entry, shardKey: prefix + entry.key, displayKey: prefix + entry.display.key }
  return byNode
}

/** Throws 500 `misconfigured` when a setting is invalid (settings.ts checks and logs them). */
function indexSettingsOf(env: Env): IndexSettings {
  const { indexName: name, pointerName, pointerTtlMs } = workerSettingsOf(env)
  return { name, pointerKey: keys.pointer(name, pointerName), ttlMs: pointerTtlMs }
}

function asServiceError(error: unknown): ServiceError {
  return error instanceof ServiceError ? error : new ServiceError(503, 'index_unavailable', `index failed to load: ${(error as Error).message}`)
}

/** Rejects bytes that are not the object the manifest names. */
async function checkDigest(key: string, bytes: Uint8Array, sha256: string): Promise<void> {
  if ((await sha256Hex(bytes)) !== sha256) throw new ServiceError(503, 'index_unavailable', `object ${key} does not match its sha256`)
}

/** The leaf centroids' bytes, checked against the manifest's digest and tree. */
async function checkCentroids(key: string, bytes: Uint8Array, manifest: Manifest, tree: ClusterTree): Promise<CentroidTable> {
  await checkDigest(key, bytes, manifest.centroids.sha256)
  let table: CentroidTable
  try {
    table = new CentroidTable(decodeLeafCentroids(bytes), tree, manifest.dims, workerDenseKernel())
  } catch (error) {
    throw new ServiceError(503, 'index_unavailable', `object ${key} does not fit this version: ${(error as Error).message}`)
  }
  return table
}

/** An object's bytes, within the load deadline. */
async function readObject(env: Env, key: string): Promise<Uint8Array> {
  const bytes = await readWithinDeadline(env, key, `object ${key}`, async (object) => new Uint8Array(await object.arrayBuffer()))
  if (bytes === null) throw new ServiceError(503, 'index_unavailable', `object ${key} is missing`)
  return bytes
}

/**
 * Gets `key` and reads its body with `read`, both within one load deadline
 * (a body can stall after get() has answered); null when the object is missing.
 */
function readWithinDeadline<T>(env: Env, key: string, what: string, read: (object: R2ObjectBody) => Promise<T>): Promise<T | null> {
  return withDeadline(
    env.INDEX.get(key).then((object) => (object ? read(object) : null)),
    what,
  )
}
