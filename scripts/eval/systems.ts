// Retrieval over an index folder in Node, with the Worker's own shared code
// (src/core): the same ONNX model run by the same runtime, the same beam
// search and probe plan, the same int8 scoring and fusion. A system is a routing
// (which leaf shards are read) and a scoring (how their documents are ranked);
// new ones (a lexical term, another router) plug in as another Routing or Scoring.

import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { featurize } from '../../src/core/featurizer.ts'
import type { Manifest, SearchDefaults, ShardEntry } from '../../src/core/manifest.ts'
import { modelMismatch, QueryModelRuntime } from '../../src/core/query-runtime.ts'
import { nodeDenseKernel, nodeLexicalKernel } from '../node-kernel.ts'
import { byPlace, lexicalQuery, lexiconPartsOf, planBeam, planProbe, queryTerms, queryVector, scoreCluster, searchForK, type FusionWeights, type Hit, type QueryTerms } from '../../src/core/search.ts'
import { decodeLeafCentroids, decodeLexiconPart, decodeShard, decodeShardDisplay, type Shard, type ShardDisplay } from '../../src/core/shard-codec.ts'
import { CentroidTable } from '../../src/core/centroids.ts'
import { LeafDocuments, type LexicalLeaves, type LexiconPart } from '../../src/core/lexical.ts'
import { clusterProbability, TopK } from '../../src/core/score.ts'
import { conditionalLogProbs, pathLogProbs } from '../../src/core/beam.ts'
import { buildTree, cidKey, type ClusterTree } from '../../src/core/tree.ts'
import { readIndexManifest } from '../publish.ts'

export interface IndexFolder {
  dir: string
  manifest: Manifest
  tree: ClusterTree
  /** Leaf nodes in breadth-first order. */
  leaves: number[]
  shards: Map<number, Shard>
  /** Each leaf's ids, titles and snippets, by row. */
  displays: Map<number, ShardDisplay>
  /** Leaf node of every document id. */
  leafOf: Map<string, number>
  entries: Map<number, ShardEntry>
  /** "3-1" → shard entry: how the Worker's `clusters[].cid` maps back to shards. */
  byCid: Map<string, ShardEntry>
  /** The index's own leaf centroids, as the Worker compares a query with them in routing (and IVF's coarse quantizer). */
  leafCentroids: CentroidTable
  /** Every part of the lexicon, by part number. */
  lexicon: LexiconPart[]
  /** Lexical routing over this index, as the Worker's (per-leaf working arrays). */
  leafDocuments: LeafDocuments
  /** The query model (model.onnx), as the Worker runs it. */
  model: QueryModelRuntime
}


export async function openIndexFolder(dir: string): Promise<IndexFolder> {
  const root = resolve(dir)
  const manifest = readIndexManifest(root)
  const tree = buildTree(manifest.tree)
  const shards = new Map<number, Shard>()
  const displays = new Map<number, ShardDisplay>()
  const leafOf = new Map<string, number>()
  const entries = new Map<number, ShardEntry>()
  for (const entry of manifest.shards) {
    const shard = decodeShard(readFileSync(join(root, entry.key)))
    shards.set(entry.node, shard)
    const display = decodeShardDisplay(readFileSync(join(root, entry.display.key)))
    displays.set(entry.node, display)
    for (const id of display.ids) leafOf.set(id, entry.node)
    entries.set(entry.node, entry)
  }
  const lexicon = manifest.lexicon.parts.map((p) => decodeLexiconPart(readFileSync(join(root, p.key))))
  const leafCentroids = new CentroidTable(decodeLeafCentroids(readFileSync(join(root, manifest.centroids.key))), tree, manifest.dims, nodeDenseKernel())
  const modelPath = join(root, manifest.model.key)
  const model = new QueryModelRuntime(new Uint8Array(readFileSync(modelPath)), nodeDenseKernel())
  const mismatch = modelMismatch(model, manifest)
  if (mismatch) throw new Error(`${modelPath} does not fit this index: ${mismatch}`)
  return { dir: root, manifest, tree, leaves: Array.from(tree.leaves), shards, displays, leafOf, entries, leafDocuments: new LeafDocuments(manifest.shards, manifest.tree.parent.length, nodeLexicalKernel()), byCid: new Map(manifest.shards.map((s) => [cidKey(s.cid), s])), leafCentroids, lexicon, model }
}

export interface QueryOutputs {
  /** The query's analyzed terms, once per query as the Worker has them: lexical routing, lexicon bytes and the lexical score read them. */
  terms: QueryTerms
  /** Unit query vector, as the Worker compares it with documents. */
  query: Float32Array
  /** Decoder logits, one per non-root tree node. */
  logits: Float32Array
  /** By node, q̂·C_c of each leaf: cosine of the query and the index's centroid of the leaf, as the Worker computes it. */
  centroidSims: () => Float64Array
  /** q̂·(the nearest of a leaf's part centroids), as gdr's routing reads them for the leaves near its cut. */
  partSim: (leaf: number) => number
}

/** The Worker's model step (src/worker/search.ts), in Node: same featurizer, same ONNX file, same runtime. */
export function runQueryModel(index: IndexFolder, text: string): QueryOutputs {
  const out = index.model.run(featurize(text, index.manifest.featurizer))
  const query = queryVector(out.query)
  return { terms: queryTerms(text, index.manifest.lexical), query, logits: out.logits, ...index.leafCentroids.routingSims(query) }
}

/**
 * Which leaves are read: the Worker's plan (`decoder`: the decoder's beam with
 * lexical routing), the decoder's beam alone (`decoder-only`: GDR as published),
 * nearest centroids (IVF), or all of them (exact).
 */
export type Routing = 'decoder' | 'decoder-only' | 'centroid' | 'all'
/**
 * How documents of the read leaves are ranked: q·d alone (`dense`), q·d + β·BM25
 * (`hybrid`, β from the manifest), or that plus α·p(cluster) (`fused`: exactly the
 * Worker's score). p(cluster) is the decoder's over the whole tree, so every
 * scoring is a fixed function of (query, document) and routings differ only in
 * which documents they reach.
 */
export type Scoring = 'dense' | 'hybrid' | 'fused'

/**
 * How many leaves to read. `default`: the manifest's search settings, exactly as
 * the Worker plans them (decoder routing only). `shards`: exactly n leaves; for
 * the decoder, a beam of n + 8 (the build's slack) with the first n kept.
 */
export type Budget = { kind: 'default' } | { kind: 'shards'; shards: number }

export interface SystemSpec {
  name: string
  routing: Routing
  scoring: Scoring
  /** One line for the tables' legend. */
  label: string
}

const ROUTING_LABEL: Record<Routing, string> = { decoder: 'beam + lexical leaves, by estimated fused score', 'decoder-only': 'decoder routing alone', centroid: 'nearest-centroid routing', all: 'all leaves (brute force)' }
const SCORING_LABEL: Record<Scoring, string> = { fused: 'dense + β·BM25 + α·p(cluster), the Worker\'s score', hybrid: 'dense + β·BM25', dense: 'dense only' }
const system = (name: string, routing: Routing, scoring: Scoring): SystemSpec => ({ name, routing, scoring, label: `${ROUTING_LABEL[routing]}, ${SCORING_LABEL[scoring]}` })

/** Every routing × scoring; `gdr`, `ivf` and `exact` share the Worker's score, so they differ in routing alone. */
export const SYSTEMS = {
  gdr: system('gdr', 'decoder', 'fused'),
  gdrHybrid: system('gdr-hybrid', 'decoder', 'hybrid'),
  gdrDense: system('gdr-dense', 'decoder', 'dense'),
  gdrDecoder: system('gdr-decoder', 'decoder-only', 'fused'),
  ivf: system('ivf', 'centroid', 'fused'),
  ivfHybrid: system('ivf-hybrid', 'centroid', 'hybrid'),
  ivfDense: system('ivf-dense', 'centroid', 'dense'),
  exact: system('exact', 'all', 'fused'),
  exactHybrid: system('exact-hybrid', 'all', 'hybrid'),
  exactDense: system('exact-dense', 'all', 'dense'),
} as const satisfies Record<string, SystemSpec>

/** Brute force with a system's own scoring: the reference of its exact-recall. */
export function exactFor(scoring: Scoring): SystemSpec {
  return scoring === 'fused' ? SYSTEMS.exact : scoring === 'hybrid' ? SYSTEMS.exactHybrid : SYSTEMS.exactDense
}

export interface Probe {
  node: number
  /** The cluster probability the fused score uses. */
  prob: number
}

/** A top k and the leaves read for it. */
export interface Ranked {
  ids: string[]
  scores: number[]
  /** Leaf nodes read, in reading order. */
  probed: number[]
}

export interface Retrieved extends Ranked {
  /** What a cold Worker would read for this answer (`bytesRead`). */
  bytes: number
}

/** The plan's settings: the Worker's for a request of k results (`default`), or exactly n leaves. */
export function searchDefaultsFor(index: IndexFolder, budget: Budget, k: number): SearchDefaults {
  if (budget.kind === 'default') return searchForK(index.manifest, k)
  const n = Math.max(1, Math.min(budget.shards, index.leaves.length))
  return { ...index.manifest.search, beam: Math.min(index.leaves.length, n + 8), probeDocs: n }
}

/** The leaves a routing reads for a request of k results. */
export function route(index: IndexFolder, outputs: QueryOutputs, routing: Routing, budget: Budget, k: number): Probe[] {
  if (routing === 'decoder' || routing === 'decoder-only') {
    // With a shard budget every leaf counts as one "document", so planProbe keeps exactly n.
    const docsPerLeaf = budget.kind === 'default' ? (node: number) => index.entries.get(node)?.docs ?? 0 : () => 1
    const search = searchDefaultsFor(index, budget, k)
    const plan = routing === 'decoder' ? planProbe(index.tree, outputs, docsPerLeaf, search, lexicalLeavesFor(index, outputs.terms)) : planBeam(index.tree, outputs.logits, docsPerLeaf, search)
    return plan.map((c) => ({ node: c.node, prob: c.prob }))
  }
  const nodes = routing === 'all' ? index.leaves : nearestCentroids(index, outputs.centroidSims(), budgetShards(budget))
  const logProbs = pathLogProbs(index.tree, conditionalLogProbs(index.tree, outputs.logits))
  return nodes.map((node) => ({ node, prob: clusterProbability(logProbs[node]) }))
}

/** The Worker's lexical routing input: each leaf's best lexical score among the query terms' top postings. */
export function lexicalLeavesFor(index: IndexFolder, terms: QueryTerms): LexicalLeaves {
  const parts = lexiconPartsOf(terms, index.lexicon)
  const lexical = lexicalQuery(terms, index.manifest.lexical, parts)
  return index.leafDocuments.leafScores(lexical.counts, parts, lexical.scale, index.manifest.lexical)
}

/** Bytes of the lexicon parts a query reads. */
export function lexiconBytes(index: IndexFolder, terms: QueryTerms): number {
  return lexiconPartsOf(terms, index.manifest.lexicon.parts).reduce((sum, part) => sum + part.bytes, 0)
}

function budgetShards(budget: Budget): number {
  if (budget.kind !== 'shards') throw new Error('centroid routing needs a shard budget (use the count the decoder read for that query)')
  return budget.shards
}

/** Leaves by the query's cosine with their centroid (`centroidSims`, by node: the index's own, as gdr's routing reads them), best first (ties: breadth-first order). */
export function nearestCentroids(index: IndexFolder, centroidSims: Float64Array, n: number): number[] {
  const scored = index.leaves.map((node) => ({ node, sim: centroidSims[node] }))
  scored.sort((a, b) => b.sim - a.sim || a.node - b.node)
  return scored.slice(0, Math.max(1, n)).map((s) => s.node)
}

export function fusionWeights(index: IndexFolder, scoring: Scoring, alpha?: number): FusionWeights {
  const { search } = index.manifest
  return { alpha: scoring === 'fused' ? (alpha ?? search.alpha) : 0, beta: scoring === 'dense' ? 0 : search.beta }
}

/** Scores the probed leaves in order with the Worker's scoreCluster into a top k; `alpha` overrides the manifest's for fused scoring. */
export function scoreProbes(index: IndexFolder, outputs: QueryOutputs, probes: Probe[], scoring: Scoring, k: number, alpha?: number): Ranked {
  const weights = fusionWeights(index, scoring, alpha)
  const shards = probes.map((p) => index.shards.get(p.node)!)
  const lexical = lexicalQuery(outputs.terms, index.manifest.lexical, lexiconPartsOf(outputs.terms, index.lexicon))
  const top = new TopK<Hit>(k, byPlace)
  const query = { vector: outputs.query, kernel: nodeDenseKernel() }
  probes.forEach((p, i) => scoreCluster(query, lexical, shards[i], { node: p.node, logProb: 0, prob: p.prob }, weights, index.manifest.lexical, top))
  const sorted = top.sorted()
  return {
    ids: sorted.map(({ item }) => index.displays.get(item.node)!.ids[item.row]),
    scores: sorted.map(({ score }) => score),
    probed: probes.map((p) => p.node),
  }
}

export function retrieve(index: IndexFolder, outputs: QueryOutputs, system: SystemSpec, budget: Budget, k: number, alpha?: number): Retrieved {
  const ranked = scoreProbes(index, outputs, route(index, outputs, system.routing, budget, k), system.scoring, k, alpha)
  return { ...ranked, bytes: bytesRead(index, system, outputs.terms, ranked) }
}

/**
 * Whether a system reads the query terms' lexicon parts: lexical routing reads
 * their postings, and BM25 (hybrid and fused scoring) takes its corpus idf from
 * them, whatever the routing. Only dense scoring without lexical routing reads none.
 */
function readsLexicon(system: SystemSpec): boolean {
  return system.routing === 'decoder' || system.scoring !== 'dense'
}

/**
 * The bytes a cold Worker would fetch for an answer: the shards read, the display
 * objects of its results' leaves and, when the system reads the lexicon, the parts
 * of the query's terms. Every system and table is charged through this one function.
 */
export function bytesRead(index: IndexFolder, system: SystemSpec, terms: QueryTerms, ranked: Pick<Ranked, 'ids' | 'probed'>): number {
  return probedBytes(index, ranked.probed) + displayBytes(index, ranked.ids) + (readsLexicon(system) ? lexiconBytes(index, terms) : 0)
}

/** Bytes of the shards read (what a cold Worker fetches from R2 to score). */
export function probedBytes(index: IndexFolder, probed: readonly number[]): number {
  return probed.reduce((sum, node) => sum + (index.entries.get(node)?.bytes ?? 0), 0)
}

/** The display objects a Worker reads to show these results: one per leaf among them. */
export function displaysFor(index: IndexFolder, ids: readonly string[]): ShardEntry['display'][] {
  const leaves = new Set(ids.flatMap((id) => (index.leafOf.has(id) ? [index.leafOf.get(id)!] : [])))
  return [...leaves].map((node) => index.entries.get(node)!.display)
}

/** Bytes of the display objects a cold Worker fetches to show these results. */
export function displayBytes(index: IndexFolder, ids: readonly string[]): number {
  return displaysFor(index, ids).reduce((sum, display) => sum + display.bytes, 0)
}
