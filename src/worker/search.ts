// One query through the whole GDR path: featurize → int8 model in WASM (while
// the query terms' lexicon parts are read) → constrained beam search over
// cluster IDs, plus the leaves lexical routing names → read only those shards →
// dense scoring fused with BM25 and the cluster probability. A shard or lexicon
// part that cannot be read is skipped and named, and the answer comes from the
// rest (`degraded`).

import { featurize } from '../core/featurizer.ts'
import { MODEL_IO } from '../core/query-model.ts'
import { lexicalQuery, lexiconPartsFor, planProbe, queryVector, scoreCluster, type Hit, type ProbedCluster, type RoutingOutputs } from '../core/search.ts'
import { lexicalLeafScores } from '../core/lexical.ts'
import { TopK } from '../core/score.ts'
import { clusterId } from '../core/tree.ts'
import type { Env } from './env.ts'
import { ServiceError } from './errors.ts'
import { upcomingLayout, type LoadedIndex, type VersionLayout } from './index-store.ts'
import { Tensor } from './ort.ts'
import { getLexiconPart, getShard, ShardFault, type ShardFaultReason } from './shard-cache.ts'
import type { SearchTimings } from './server-timing.ts'

export interface SearchResult {
  id: string
  title: string
  snippet: string
  score: number
}

/** A cluster (`cid`) or a lexicon part (`lexiconPart`) that could not be read. */
export type Skipped = { cid: number[]; reason: ShardFaultReason } | { lexiconPart: number; reason: ShardFaultReason }

export interface SearchResponse {
  results: SearchResult[]
  /** The clusters whose documents were scored. */
  clusters: { cid: number[]; prob: number; docs: number }[]
  /** True when some clusters or lexicon parts could not be read: results come from the rest only. */
  degraded: boolean
  skipped: Skipped[]
  index: string
  took_ms: number
}

export interface SearchOptions {
  q: string
  k: number
  shardTimeoutMs: number
  /** When given, filled with where the time went (the Server-Timing header). */
  timings?: SearchTimings
}

export async function search(env: Env, index: LoadedIndex, options: SearchOptions): Promise<SearchResponse> {
  const started = Date.now()
  const { manifest, tree } = index
  const lexicon = readLexicon(env, index, options.q, options.shardTimeoutMs)
  const outputs = await runModel(index, options.q)
  const query = queryVector(outputs.query)
  const { parts, skipped: skippedParts } = await lexicon
  const lexical = lexicalQuery(options.q, manifest.lexical, parts)
  const lexicalLeaves = lexicalLeafScores(lexical.counts, parts, lexical.scale, manifest.lexical)
  const probed = planProbe(tree, outputs, (node) => index.shardByNode.get(node)?.docs ?? 0, manifest.search, lexicalLeaves)
  const modelDone = Date.now()
  const { read, skipped: skippedClusters } = await readShards(env, index, probed, options.shardTimeoutMs)
  const readDone = Date.now()
  if (read.length === 0) {
    throw ServiceError.of('shards_unavailable', `none of the ${probed.length} clusters this query needs could be read (${skippedClusters.map((s) => s.reason).join(', ')})`)
  }
  const skipped: Skipped[] = [...skippedParts, ...skippedClusters]
  const top = new TopK<Hit>(options.k)
  for (const { cluster, shard } of read) scoreCluster(query, lexical, shard, cluster, manifest.search, manifest.lexical, top)
  if (options.timings) Object.assign(options.timings, { modelMs: modelDone - started, r2Ms: readDone - modelDone, scoreMs: Date.now() - readDone })
  const shardOf = new Map(read.map(({ cluster, shard }) => [cluster.node, shard]))
  return {
    results: top.sorted().map(({ item, score }) => {
      const shard = shardOf.get(item.node)!
      return { id: shard.ids[item.row], title: shard.titles[item.row], snippet: shard.snippets[item.row], score }
    }),
    clusters: read.map(({ cluster, shard }) => ({ cid: clusterId(tree, cluster.node), prob: cluster.prob, docs: shard.ids.length })),
    degraded: skipped.length > 0,
    skipped,
    index: manifest.version,
    took_ms: Date.now() - started,
  }
}

/** All probed shards in parallel, each within the deadline; failures become `skipped`. */
async function readShards(env: Env, index: LoadedIndex, probed: ProbedCluster[], deadlineMs: number) {
  const { values, faults } = await readEach(probed, (cluster) => {
    const entry = index.shardByNode.get(cluster.node)!
    return getShard(env.INDEX, index.prefix + entry.key, { entry, dims: index.manifest.dims }, deadlineMs)
  })
  const skipped: Skipped[] = faults.map(({ item: cluster, fault }) => {
    const cid = clusterId(index.tree, cluster.node)
    console.warn(`skipping cluster ${cid.join('-')}: ${fault.message}`)
    return { cid, reason: fault.reason }
  })
  return { read: values.map(({ item: cluster, value: shard }) => ({ cluster, shard })), skipped }
}

/**
 * Starts reading the query's lexicon parts into the cache search() reads them
 * from, as soon as the version's manifest is known: on an isolate's first request
 * that is while the model and its ORT session load. Faults surface in search().
 */
export function prefetchLexicon(env: Env, q: string, deadlineMs: number): void {
  upcomingLayout(env)
    ?.then((layout) => readLexicon(env, layout, q, deadlineMs))
    .catch(() => {})
}

/** The lexicon parts holding the query's terms, in parallel, each within the deadline; failures become `skipped`. */
async function readLexicon(env: Env, { manifest, prefix }: VersionLayout, q: string, deadlineMs: number) {
  const { lexicon } = manifest
  const parts = lexicon.parts.length
  const { values, faults } = await readEach(lexiconPartsFor(q, manifest.lexical, parts), (part) =>
    getLexiconPart(env.INDEX, prefix + lexicon.parts[part].key, { entry: lexicon.parts[part], parts }, deadlineMs),
  )
  const skipped: Skipped[] = faults.map(({ item: part, fault }) => {
    console.warn(`skipping lexicon part ${part}: ${fault.message}`)
    return { lexiconPart: part, reason: fault.reason }
  })
  return { parts: values.map(({ value }) => value), skipped }
}

/** Reads every item in parallel: the values in item order, and each failure as a ShardFault. */
async function readEach<I, T>(items: I[], read: (item: I) => Promise<T>) {
  const settled = await Promise.allSettled(items.map(read))
  const values: { item: I; value: T }[] = []
  const faults: { item: I; fault: ShardFault }[] = []
  settled.forEach((outcome, i) => {
    if (outcome.status === 'fulfilled') values.push({ item: items[i], value: outcome.value })
    else faults.push({ item: items[i], fault: outcome.reason instanceof ShardFault ? outcome.reason : new ShardFault('unreadable', String(outcome.reason)) })
  })
  return { values, faults }
}

// onnxruntime-web runs one inference at a time per session; queue the rest.
const queues = new WeakMap<object, Promise<unknown>>()

async function runModel(index: LoadedIndex, q: string): Promise<RoutingOutputs & { query: Float32Array }> {
  const features = featurize(q, index.manifest.featurizer)
  // A query with no tokens still runs (one zero-weight feature), so it gets a well-formed answer.
  const ids = features.ids.length > 0 ? features.ids : new Int32Array(1)
  const weights = features.ids.length > 0 ? features.values : new Float32Array(1)
  const feeds = {
    [MODEL_IO.ids]: new Tensor('int32', ids, [ids.length]),
    [MODEL_IO.weights]: new Tensor('float32', weights, [weights.length]),
  }
  const previous = queues.get(index.session) ?? Promise.resolve()
  const run = previous.catch(() => {}).then(() => index.session.run(feeds))
  queues.set(index.session, run)
  const out = await run
  return { query: out[MODEL_IO.query].data as Float32Array, logits: out[MODEL_IO.logits].data as Float32Array, centroidSim: out[MODEL_IO.centroidSim].data as Float32Array }
}
