// One query through the whole GDR path: featurize → the int8 query model
// (while the query terms' lexicon parts are read) → constrained beam search over
// cluster IDs, plus the leaves lexical routing names → read only those shards →
// dense scoring fused with BM25 and the cluster probability → read the display
// objects of the results' leaves. A shard, display object or lexicon part that
// cannot be read is skipped and named, and the answer comes from the rest
// (`degraded`).

import { featurize } from '../core/featurizer.ts'
import { byPlace, lexicalQuery, lexiconPartsFor, planProbe, queryTerms, queryVector, scoreCluster, searchForK, type Hit, type ProbedCluster, type QueryTerms } from '../core/search.ts'
import { TopK } from '../core/score.ts'
import { shardRows } from '../core/shard-codec.ts'
import { cidKey, clusterId } from '../core/tree.ts'
import type { Env } from './env.ts'
import { ServiceError } from './errors.ts'
import { firstLoadLayout, type LoadedIndex, type VersionLayout } from './index-store.ts'
import { workerDenseKernel } from './kernel.ts'
import { getLexiconPart, getShard, getShardDisplay, ShardFault, type ShardFaultReason } from './shard-cache.ts'
import type { SearchTimings } from './server-timing.ts'

export interface SearchResult {
  id: string
  title: string
  snippet: string
  score: number
}

/**
 * What could not be read: a cluster's shard (`cid`; its documents were not scored),
 * a cluster's display object (`cid` with `display: true`; its documents that
 * ranked are left out of the results), or a lexicon part (`lexiconPart`).
 */
export type Skipped = { cid: number[]; display?: true; reason: ShardFaultReason } | { lexiconPart: number; reason: ShardFaultReason }

export interface SearchResponse {
  results: SearchResult[]
  /** The clusters whose documents were scored. */
  clusters: { cid: number[]; prob: number; docs: number }[]
  /** True when something in `skipped` could not be read: results come from the rest only. */
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
  const terms = queryTerms(options.q, manifest.lexical)
  const lexicon = readLexicon(env, index, terms, options.shardTimeoutMs)
  const outputs = index.model.run(featurize(options.q, manifest.featurizer))
  const modelDone = Date.now()
  const query = { vector: queryVector(outputs.query), kernel: workerDenseKernel() }
  const { parts, skipped: skippedParts } = await lexicon
  const lexical = lexicalQuery(terms, manifest.lexical, parts)
  const lexicalLeaves = index.leafDocuments.leafScores(lexical.counts, parts, lexical.scale, manifest.lexical)
  const probed = planProbe(tree, { logits: outputs.logits, ...index.centroids.routingSims(query.vector) }, (node) => index.leafByNode[node]?.entry.docs ?? 0, searchForK(manifest, options.k), lexicalLeaves)
  const routeDone = Date.now()
  const { read, skipped: skippedClusters } = await readShards(env, index, probed, options.shardTimeoutMs)
  const readDone = Date.now()
  if (read.length === 0) {
    throw ServiceError.of('shards_unavailable', `none of the ${probed.length} clusters this query needs could be read (${skippedClusters.map((s) => s.reason).join(', ')})`)
  }
  const top = new TopK<Hit>(options.k, byPlace)
  for (const { cluster, shard } of read) scoreCluster(query, lexical, shard, cluster, manifest.search, manifest.lexical, top)
  const hits = top.sorted()
  const scoreDone = Date.now()
  const { displays, skipped: skippedDisplays } = await readDisplays(env, index, hits, options.shardTimeoutMs)
  if (hits.length > 0 && displays.size === 0) {
    throw ServiceError.of('shards_unavailable', `none of the ${skippedDisplays.length} display objects of the results could be read (${skippedDisplays.map((s) => s.reason).join(', ')})`)
  }
  if (options.timings) Object.assign(options.timings, { modelMs: modelDone - started, routeMs: routeDone - modelDone, r2Ms: readDone - routeDone + (Date.now() - scoreDone), scoreMs: scoreDone - readDone })
  const skipped: Skipped[] = [...skippedParts, ...skippedClusters, ...skippedDisplays]
  return {
    results: hits.flatMap(({ item, score }) => {
      const display = displays.get(item.node)
      return display ? [{ id: display.ids[item.row], title: display.titles[item.row], snippet: display.snippets[item.row], score }] : []
    }),
    clusters: read.map(({ cluster, shard }) => ({ cid: clusterId(tree, cluster.node), prob: cluster.prob, docs: shardRows(shard) })),
    degraded: skipped.length > 0,
    skipped,
    index: manifest.version,
    took_ms: Date.now() - started,
  }
}

/** The display objects of the leaves the hits come from, in parallel; failures become `skipped`. */
async function readDisplays(env: Env, index: LoadedIndex, hits: readonly { item: Hit }[], deadlineMs: number) {
  const nodes = [...new Set(hits.map(({ item }) => item.node))]
  const { values, faults } = await readEach(nodes, (node) => {
    const { entry, displayKey } = index.leafByNode[node]!
    return getShardDisplay(env.INDEX, displayKey, entry, deadlineMs)
  })
  const skipped: Skipped[] = faults.map(({ item: node, fault }) => {
    const cid = clusterId(index.tree, node)
    console.warn(`leaving out the results of cluster ${cidKey(cid)}: ${fault.message}`)
    return { cid, display: true, reason: fault.reason }
  })
  return { displays: new Map(values.map(({ item, value }) => [item, value])), skipped }
}

/** All probed shards in parallel, each within the deadline; failures become `skipped`. */
async function readShards(env: Env, index: LoadedIndex, probed: ProbedCluster[], deadlineMs: number) {
  const { values, faults } = await readEach(probed, (cluster) => {
    const { entry, shardKey } = index.leafByNode[cluster.node]!
    return getShard(env.INDEX, shardKey, { entry, dims: index.manifest.dims }, deadlineMs)
  })
  const skipped: Skipped[] = faults.map(({ item: cluster, fault }) => {
    const cid = clusterId(index.tree, cluster.node)
    console.warn(`skipping cluster ${cidKey(cid)}: ${fault.message}`)
    return { cid, reason: fault.reason }
  })
  return { read: values.map(({ item: cluster, value: shard }) => ({ cluster, shard })), skipped }
}

/**
 * On a request that waits for the isolate's first load: starts reading the
 * query's lexicon parts into the cache search() reads them from as soon as the
 * manifest is known, while the model and leaf centroids load. Faults surface
 * in search().
 */
export function prefetchLexicon(env: Env, q: string, deadlineMs: number): void {
  firstLoadLayout(env)
    ?.then((layout) => readLexicon(env, layout, queryTerms(q, layout.manifest.lexical), deadlineMs))
    .catch(() => {})
}

/** The lexicon parts holding the query's terms, in parallel, each within the deadline; failures become `skipped`. */
async function readLexicon(env: Env, { manifest, prefix }: VersionLayout, terms: QueryTerms, deadlineMs: number) {
  const { lexicon } = manifest
  const parts = lexicon.parts.length
  const { values, faults } = await readEach(lexiconPartsFor(terms, parts), (part) =>
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
