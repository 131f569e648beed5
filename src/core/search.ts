// One query's path after the model has run, shared by the Worker and the build
// (which uses it to choose α on held-out pseudo-queries): decode clusters, pick
// the shards to probe within the budget, score their documents, fuse.

import { ByScore } from './best-first.ts'
import type { ClusterTree } from './tree.ts'
import { lexiconPartOf, type LexicalConfig, type Manifest, type SearchDefaults } from './manifest.ts'
import { beamSearch, conditionalLogProbs, decodeBeam, pathLogProbs } from './beam.ts'
import { isLeaf } from './tree.ts'
import { clusterProbability, l2normalize, TopK } from './score.ts'
import type { DenseKernel } from './dense-kernel.ts'
import { addLexicalScores, analyze, maxLexicalScore, queryIdf, termCounts, type LexicalLeaves, type ShardPostings } from './lexical.ts'

export interface ProbedCluster {
  node: number
  logProb: number
  /** p(cluster ID | query) over the whole tree: GDR's cluster score. */
  prob: number
}

/** What routing knows of a query: the decoder's logits (one per non-root node), and its similarity to any leaf's centroids. */
export interface RoutingOutputs {
  logits: Float32Array
  /** By node, q̂·C_c: the cosine of the query and leaf c's centroid (CentroidTable.similarities; NaN for a node that is not a leaf), computed when first asked for. The plan refuses a candidate without one. */
  centroidSims: () => Float64Array
  /** q̂·(the nearest of leaf c's part centroids) (CentroidTable.partSimilarity), asked for the leaves near the plan's cut only. */
  partSim: (leaf: number) => number
}

/**
 * The Worker's plan: the decoder's beam plus every leaf lexical routing names,
 * ranked by an estimate of their best document's fused score
 * `q·d + β·BM25 + α·p(cluster)`: q̂·(the leaf's centroid) for the dense part,
 * the best normalized BM25 among its documents in the lexicon's top postings,
 * and the decoder's probability of the leaf. The leaves that cover
 * REFINE_BUDGETS × `probeDocs` by this estimate are ranked again with the dense
 * part from their nearest part centroid, and the best are kept until `probeDocs`
 * documents are covered (always at least one). A corpus smaller than the budget
 * is scanned whole when the beam is wide enough to reach every leaf.
 *
 * The estimate has no weight of its own to tune: it is the fused score with the
 * build's α and β. Held-out pseudo-queries, exact top-10 coverage at 11 of 1,024
 * leaves: npm 186K 0.72 ranking by log p + γβ·BM25, 0.81 by this estimate.
 */
export function planProbe(tree: ClusterTree, outputs: RoutingOutputs, docsPerLeaf: (node: number) => number, search: SearchDefaults, lexicalLeaves: LexicalLeaves): ProbedCluster[] {
  return rankCandidates(probeCandidates(tree, outputs.logits, search.beam, lexicalLeaves), outputs, docsPerLeaf, search, lexicalLeaves)
}

/**
 * How many probe budgets' worth of leaves, best by the centroid estimate, are
 * ranked again by their part centroids. The bench's 200 held-out queries,
 * `exactRecall10` at the default budget by the centroid alone → with the parts
 * (.tmp/subcent.mts, session 17): npm 186K 0.946 → 0.9525 (0.9515 at 1.5 budgets,
 * 0.952 at 3; 0.953 with every candidate ranked by its parts, which costs four
 * times the centroid pass), synthetic 100K 0.9875 → 0.992, 1M 0.6355 → 0.6375,
 * 10K 0.9995 both.
 */
export const REFINE_BUDGETS = 2

/** The leaves a plan ranks, by position: the beam's, then the other leaves lexical routing reaches. */
export interface ProbeCandidates {
  nodes: Int32Array
  /** log p(cluster ID | query) over the whole tree. */
  logProbs: Float64Array
}

/** planProbe's first half, which α and β do not change: the beam plus the leaves lexical routing names. */
export function probeCandidates(tree: ClusterTree, logits: Float32Array, beam: number, lexicalLeaves: LexicalLeaves): ProbeCandidates {
  const conditional = conditionalLogProbs(tree, logits)
  const decoded = decodeBeam(tree, conditional, beam)
  const nodes = new Int32Array(decoded.length + lexicalLeaves.nodes.length)
  const logProbs = new Float64Array(nodes.length)
  decoded.forEach((c, i) => {
    nodes[i] = c.node
    logProbs[i] = c.logProb
  })
  let count = decoded.length
  if (lexicalLeaves.nodes.length > 0) {
    const listed = new Uint8Array(tree.size)
    for (const c of decoded) listed[c.node] = 1
    const leafLogProbs = pathLogProbs(tree, conditional)
    for (const node of lexicalLeaves.nodes) {
      if (node < tree.size && !listed[node] && isLeaf(tree, node)) {
        listed[node] = 1
        nodes[count] = node
        logProbs[count++] = leafLogProbs[node]
      }
    }
  }
  return { nodes: nodes.subarray(0, count), logProbs: logProbs.subarray(0, count) }
}

/**
 * planProbe's second half: the candidates by estimated fused score, within the
 * budget. The estimates sit in typed arrays, and heaps of positions hand out only
 * the few taken, best first: first by the centroid estimate until REFINE_BUDGETS
 * budgets are covered, then those again by the part estimate.
 */
export function rankCandidates(candidates: ProbeCandidates, sims: Pick<RoutingOutputs, 'centroidSims' | 'partSim'>, docsPerLeaf: (node: number) => number, search: SearchDefaults, lexicalLeaves: LexicalLeaves): ProbedCluster[] {
  const { nodes, logProbs } = candidates
  const { score } = lexicalLeaves
  // Read from an array by node: ~800–1,000 candidates a query (npm 186K, 1M synthetic).
  const centroidSims = sims.centroidSims()
  const rest = new Float64Array(nodes.length)
  const priority = new Float64Array(nodes.length)
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i]
    rest[i] = search.beta * (node < score.length ? score[node] : 0) + search.alpha * clusterProbability(logProbs[i])
    priority[i] = centroidSims[node] + rest[i]
    // NaN (no centroid) would rank by no order at all: fail loudly instead.
    if (Number.isNaN(priority[i])) throw new Error(`probe plan: candidate ${node} has no centroid similarity`)
  }
  const byCentroid = new ByScore(priority, nodes)
  const near: number[] = []
  for (let i = byCentroid.next(), covered = 0; i >= 0; i = byCentroid.next()) {
    near.push(i)
    covered += docsPerLeaf(nodes[i])
    if (covered >= REFINE_BUDGETS * search.probeDocs) break
  }
  const refined = Float64Array.from(near, (i) => sims.partSim(nodes[i]) + rest[i])
  const byParts = new ByScore(refined, Int32Array.from(near, (i) => nodes[i]))
  return withinBudget(() => {
    const at = byParts.next()
    return at < 0 ? undefined : { node: nodes[near[at]], logProb: logProbs[near[at]] }
  }, docsPerLeaf, search.probeDocs)
}

/** The k that an index's probe budget and beam are set for (the API's default k). */
export const BUDGET_K = 10

/** A beam that can cover `probeDocs` documents in leaves of `meanLeaf` documents, with slack: the build's rule. */
export function beamFor(probeDocs: number, meanLeaf: number, leaves: number): number {
  return Math.min(leaves, Math.ceil(probeDocs / meanLeaf) + 8)
}

/**
 * The search settings for a request of `k` results from an index (its manifest): its own up to BUDGET_K;
 * past it the probe budget grows as √(k / BUDGET_K), and the beam with it, so a deeper
 * top k keeps about the share of brute force's top k that a top 10 has. At k = 100
 * (3.2× the documents), held-out pseudo-queries' exactR@100: npm 186K 0.770 → 0.949,
 * synthetic 100K 0.909 → 0.983; exactR@10 at k = 10 is 0.975 and 0.988 (.tmp/deepcount.mts).
 */
export function searchForK(index: Pick<Manifest, 'search' | 'docs'> & { shards: readonly unknown[] }, k: number): SearchDefaults {
  const { search, docs } = index
  if (k <= BUDGET_K) return search
  const leaves = index.shards.length
  const probeDocs = Math.ceil(search.probeDocs * Math.sqrt(k / BUDGET_K))
  return { ...search, probeDocs, beam: Math.max(search.beam, beamFor(probeDocs, docs / leaves, leaves)) }
}

/** The decoder alone (GDR as published): its beam, most probable first, within the same budget. */
export function planBeam(tree: ClusterTree, logits: Float32Array, docsPerLeaf: (node: number) => number, search: SearchDefaults): ProbedCluster[] {
  const beam = beamSearch(tree, logits, search.beam)
  let taken = 0
  return withinBudget(() => beam[taken++], docsPerLeaf, search.probeDocs)
}

/** Leaves in the order given, until they cover `probeDocs` documents (at least one leaf); the rest are never taken. */
function withinBudget(next: () => { node: number; logProb: number } | undefined, docsPerLeaf: (node: number) => number, probeDocs: number): ProbedCluster[] {
  const probed: ProbedCluster[] = []
  let covered = 0
  for (let leaf = next(); leaf !== undefined && (probed.length === 0 || covered < probeDocs); leaf = next()) {
    probed.push({ node: leaf.node, logProb: leaf.logProb, prob: clusterProbability(leaf.logProb) })
    covered += docsPerLeaf(leaf.node)
  }
  return probed
}

/** A query's analyzed terms (hashed stems) with their counts: what lexical routing and lexical scoring read. */
export type QueryTerms = ReadonlyMap<number, number>

/** Analyzes a query's text once; a search hands the result to lexiconPartsFor and lexicalQuery. */
export function queryTerms(text: string, config: LexicalConfig): QueryTerms {
  return termCounts(analyze(text, config))
}

/**
 * Lexicon parts a query reads: those of its terms, in query order, at most
 * MAX_LEXICON_PARTS. Each is one R2 read, and Workers cap the operations a
 * request makes on bindings such as R2 (README, Limits), so a very long query
 * routes by its first terms only; the rest still score inside the shards read.
 */
export const MAX_LEXICON_PARTS = 24

export function lexiconPartsFor(terms: QueryTerms, partCount: number): number[] {
  const parts = new Set<number>()
  for (const term of terms.keys()) {
    if (parts.size >= MAX_LEXICON_PARTS) break
    parts.add(lexiconPartOf(term, partCount))
  }
  return [...parts]
}

/** The entries of `parts` (lexicon parts, or their manifest entries) a query reads, as lexiconPartsFor picks them. */
export function lexiconPartsOf<T>(terms: QueryTerms, parts: readonly T[]): T[] {
  return lexiconPartsFor(terms, parts.length).map((p) => parts[p])
}

/** What the fine step needs of a shard: int8 vectors with per-row scales, and BM25 postings. */
export interface ScoredVectors {
  vectors: Int8Array
  scales: Float32Array
  postings: ShardPostings
}

export interface Hit {
  /** Row in its shard. */
  row: number
  node: number
  dense: number
  lexical: number
}

/** Hits of equal score by place in the index (leaf, then row): the same order whichever leaf was read first. */
export function byPlace(a: Hit, b: Hit): number {
  return a.node - b.node || a.row - b.row
}

/** A query's lexical side: term counts and the factor that maps its BM25 into [0, 1]. */
export interface LexicalQuery {
  counts: Map<number, number>
  scale: number
}

/**
 * Analyzes the query and keeps the terms whose idf `sources` know: the lexicon
 * parts the query reads, which carry the corpus idf of their terms, so the score
 * of a document does not depend on which shards were read. A term whose part was not
 * read (a skipped part, or past MAX_LEXICON_PARTS) does not score at all, which
 * keeps BM25 / max BM25 within [0, 1].
 */
export function lexicalQuery(terms: QueryTerms, config: LexicalConfig, sources: ShardPostings[]): LexicalQuery {
  const idf = queryIdf(terms, sources)
  const counts = new Map([...terms].filter(([term]) => idf.has(term)))
  const max = maxLexicalScore(counts, idf, config)
  return { counts, scale: max > 0 ? 1 / max : 0 }
}

export interface FusionWeights {
  alpha: number
  beta: number
}

/** The query's unit vector, and the kernel that scores int8 rows against it. */
export interface DenseQuery {
  vector: Float32Array
  kernel: DenseKernel
}

/**
 * Scores one shard's documents into `top`:
 * q·d (dense, in [−1, 1]) + β · BM25 / max BM25 (in [0, 1]) + α · p(cluster).
 */
export function scoreCluster(query: DenseQuery, lexical: LexicalQuery, shard: ScoredVectors, cluster: ProbedCluster, weights: FusionWeights, config: LexicalConfig, top: TopK<Hit>): void {
  fuseCluster(clusterParts(query, weights.beta > 0 ? lexical : undefined, shard, config, workingParts(shard.scales.length)), cluster, weights, top)
}

// scoreCluster's parts live only until it returns, and it is synchronous, so one pair of
// arrays serves every call: a query scores ~30 shards, and fresh arrays for each took
// npm 186K ~25 µs a query in Node (.tmp/scoreparts.mts).
let working: ClusterParts = { dense: new Float64Array(0), lexical: new Float32Array(0) }

/** Views of `rows` of the working arrays (grown when too short), BM25's zeroed. */
function workingParts(rows: number): ClusterParts {
  if (working.dense.length < rows) working = { dense: new Float64Array(rows), lexical: new Float32Array(rows) }
  const lexical = working.lexical.subarray(0, rows)
  lexical.fill(0)
  return { dense: working.dense.subarray(0, rows), lexical }
}

/** A shard's documents' two scores, by row: q·d, and normalized BM25 (zeros without a lexical query). */
export interface ClusterParts {
  dense: Float64Array
  lexical: Float32Array
}

/**
 * scoreCluster's first half, which α and β do not change (the build's tuning reuses
 * it across them): into fresh arrays unless given `into` (`rows` long, BM25's zeroed).
 */
export function clusterParts(query: DenseQuery, lexical: LexicalQuery | undefined, shard: ScoredVectors, config: LexicalConfig, into?: ClusterParts): ClusterParts {
  const rows = shard.scales.length
  const parts = into ?? { dense: new Float64Array(rows), lexical: new Float32Array(rows) }
  if (lexical && lexical.scale > 0) addLexicalScores(lexical.counts, shard.postings, lexical.scale, config, parts.lexical)
  query.kernel.scoreRows(query.vector, shard.vectors, shard.scales, parts.dense)
  return parts
}

/** scoreCluster's second half: the fused scores into `top`. */
export function fuseCluster(parts: ClusterParts, cluster: ProbedCluster, weights: FusionWeights, top: TopK<Hit>): void {
  const bonus = weights.alpha * cluster.prob
  for (let row = 0; row < parts.dense.length; row++) {
    const score = parts.dense[row] + weights.beta * parts.lexical[row] + bonus
    if (score >= top.threshold) top.push({ row, node: cluster.node, dense: parts.dense[row], lexical: parts.lexical[row] }, score)
  }
}

/** The model's raw query output, as the unit vector the documents are compared with. */
export function queryVector(raw: Float32Array): Float32Array {
  return l2normalize(Float32Array.from(raw))
}
