// One query through the whole GDR path: featurize → int8 model in WASM →
// constrained beam search over cluster IDs → read only those shards → dense
// scoring fused with the cluster probability.

import { featurize } from '../core/featurizer.ts'
import { MODEL_IO } from '../core/query-model.ts'
import { lexicalQuery, planProbe, queryVector, scoreCluster, type Hit } from '../core/search.ts'
import { TopK } from '../core/score.ts'
import { clusterId } from '../core/tree.ts'
import type { Env } from './env.ts'
import type { LoadedIndex } from './index-store.ts'
import { Tensor } from './ort.ts'
import { getShard } from './shard-cache.ts'

export interface SearchResult {
  id: string
  title: string
  snippet: string
  score: number
}

export interface SearchResponse {
  results: SearchResult[]
  clusters: { cid: number[]; prob: number; docs: number }[]
  index: string
  took_ms: number
}

export async function search(env: Env, index: LoadedIndex, q: string, k: number): Promise<SearchResponse> {
  const started = Date.now()
  const { manifest, tree } = index
  const outputs = await runModel(index, q)
  const query = queryVector(outputs.query)
  const probed = planProbe(tree, outputs.logits, (node) => index.shardByNode.get(node)?.docs ?? 0, manifest.search)
  // All probed shards are read from R2 in parallel.
  const shards = await Promise.all(probed.map((c) => getShard(env, index.prefix, index.shardByNode.get(c.node)!)))
  const lexical = lexicalQuery(q, manifest.lexical, shards)
  const top = new TopK<Hit>(k)
  probed.forEach((cluster, i) => scoreCluster(query, lexical, shards[i], cluster, manifest.search, manifest.lexical, top))
  const shardOf = new Map(probed.map((c, i) => [c.node, shards[i]]))
  return {
    results: top.sorted().map(({ item, score }) => {
      const shard = shardOf.get(item.node)!
      return { id: shard.ids[item.row], title: shard.titles[item.row], snippet: shard.snippets[item.row], score }
    }),
    clusters: probed.map((c) => ({ cid: clusterId(tree, c.node), prob: c.prob, docs: index.shardByNode.get(c.node)?.docs ?? 0 })),
    index: manifest.version,
    took_ms: Date.now() - started,
  }
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
