// One query through the whole GDR path: featurize → int8 model in WASM →
// constrained beam search over cluster IDs → read only those shards → dense
// scoring fused with the cluster probability. A shard that cannot be read is
// skipped and named, and the answer comes from the others (`degraded`).

import { featurize } from '../core/featurizer.ts'
import { MODEL_IO } from '../core/query-model.ts'
import { lexicalQuery, planProbe, queryVector, scoreCluster, type Hit, type ProbedCluster } from '../core/search.ts'
import { TopK } from '../core/score.ts'
import type { Shard } from '../core/shard-codec.ts'
import { clusterId } from '../core/tree.ts'
import type { Env } from './env.ts'
import { ServiceError } from './errors.ts'
import type { LoadedIndex } from './index-store.ts'
import { Tensor } from './ort.ts'
import { getShard, ShardFault, type ShardFaultReason } from './shard-cache.ts'
import type { SearchTimings } from './server-timing.ts'

export interface SearchResult {
  id: string
  title: string
  snippet: string
  score: number
}

export interface SkippedCluster {
  cid: number[]
  reason: ShardFaultReason
}

export interface SearchResponse {
  results: SearchResult[]
  /** The clusters whose documents were scored. */
  clusters: { cid: number[]; prob: number; docs: number }[]
  /** True when some decoded clusters could not be read: results come from the others only. */
  degraded: boolean
  skipped: SkippedCluster[]
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
  const outputs = await runModel(index, options.q)
  const query = queryVector(outputs.query)
  const probed = planProbe(tree, outputs.logits, (node) => index.shardByNode.get(node)?.docs ?? 0, manifest.search)
  const modelDone = Date.now()
  const { read, skipped } = await readShards(env, index, probed, options.shardTimeoutMs)
  const readDone = Date.now()
  if (read.length === 0) {
    throw ServiceError.of('shards_unavailable', `none of the ${probed.length} clusters this query needs could be read (${skipped.map((s) => s.reason).join(', ')})`)
  }
  const lexical = lexicalQuery(options.q, manifest.lexical, read.map((r) => r.shard))
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
  const settled = await Promise.allSettled(
    probed.map((cluster) => {
      const entry = index.shardByNode.get(cluster.node)!
      return getShard(env.INDEX, index.prefix + entry.key, { entry, dims: index.manifest.dims }, deadlineMs)
    }),
  )
  const read: { cluster: ProbedCluster; shard: Shard }[] = []
  const skipped: SkippedCluster[] = []
  settled.forEach((outcome, i) => {
    const cluster = probed[i]
    if (outcome.status === 'fulfilled') return void read.push({ cluster, shard: outcome.value })
    const fault = outcome.reason instanceof ShardFault ? outcome.reason : new ShardFault('unreadable', String(outcome.reason))
    console.warn(`skipping cluster ${clusterId(index.tree, cluster.node).join('-')}: ${fault.message}`)
    skipped.push({ cid: clusterId(index.tree, cluster.node), reason: fault.reason })
  })
  return { read, skipped }
}

// onnxruntime-web runs one inference at a time per session; queue the rest.
const queues = new WeakMap<object, Promise<unknown>>()

async function runModel(index: LoadedIndex, q: string): Promise<{ query: Float32Array; logits: Float32Array }> {
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
  return { query: out[MODEL_IO.query].data as Float32Array, logits: out[MODEL_IO.logits].data as Float32Array }
}
