// One query's path after the model has run, shared by the Worker and the build
// (which uses it to choose α on held-out pseudo-queries): decode clusters, pick
// the shards to probe within the budget, score their documents, fuse.

import type { ClusterTree } from './tree.ts'
import { lexiconPartOf, type LexicalConfig, type SearchDefaults } from './manifest.ts'
import { conditionalLogProbs, decodeBeam, leafLogProb } from './beam.ts'
import { isLeaf } from './tree.ts'
import { clusterProbability, dotInt8, l2normalize, TopK } from './score.ts'
import { addLexicalScores, analyze, maxLexicalScore, queryIdf, termCounts, type ShardPostings } from './lexical.ts'

export interface ProbedCluster {
  node: number
  logProb: number
  /** p(cluster ID | query) over the whole tree: GDR's cluster score. */
  prob: number
}

/** The query model's routing outputs, one value per non-root node. */
export interface RoutingOutputs {
  logits: Float32Array
  /** γ·q̂·μ_c: the query's similarity to the node's centroid, in the decoder's units. */
  centroidPrior: Float32Array
}

/**
 * Decodes the beam, adds the leaves lexical routing names, ranks them by an
 * estimate of their best document's fused score in the decoder's units:
 * log p(cluster) + γ·q̂·μ_leaf (the dense part, from the centroid) +
 * lexicalRouting × their best lexical score. Then keeps the best until
 * `probeDocs` documents are covered (always at least one). A corpus smaller than
 * the budget is scanned whole when the beam is wide enough to reach every leaf.
 *
 * log p(cluster) already holds the centroid prior, but normalized among siblings:
 * it says which leaf is likelier, not how close the query is to any of them. The
 * absolute term is what makes a leaf near the query outrank a far leaf with one
 * lexical hit (npm 186K: exact top-10 coverage at 11 leaves 0.72 → 0.80).
 */
export function planProbe(tree: ClusterTree, outputs: RoutingOutputs, docsPerLeaf: (node: number) => number, search: SearchDefaults, lexicalLeaves: ReadonlyMap<number, number>): ProbedCluster[] {
  const conditional = conditionalLogProbs(tree, outputs.logits)
  const candidates = new Map(decodeBeam(tree, conditional, search.beam).map((d) => [d.node, d.logProb]))
  if (search.lexicalRouting > 0 && lexicalLeaves.size > 0) {
    for (const node of lexicalLeaves.keys()) {
      if (!candidates.has(node) && node < tree.size && isLeaf(tree, node)) candidates.set(node, leafLogProb(tree, conditional, node))
    }
  }
  const ranked = [...candidates].map(([node, logProb]) => ({ node, logProb, priority: logProb + outputs.centroidPrior[node - 1] + search.lexicalRouting * (lexicalLeaves.get(node) ?? 0) }))
  ranked.sort((a, b) => b.priority - a.priority || a.node - b.node)
  const probed: ProbedCluster[] = []
  let covered = 0
  for (let i = 0; i < ranked.length && (probed.length === 0 || covered < search.probeDocs); i++) {
    const { node, logProb } = ranked[i]
    probed.push({ node, logProb, prob: clusterProbability(logProb) })
    covered += docsPerLeaf(node)
  }
  return probed
}

/**
 * Lexicon parts a query reads: those of its terms, in query order, at most
 * MAX_LEXICON_PARTS. Each is one R2 read and Workers cap subrequests per request
 * (50 on the free plan), so a very long query routes by its first terms only;
 * the rest still score inside the shards read.
 */
export const MAX_LEXICON_PARTS = 24

export function lexiconPartsFor(text: string, config: LexicalConfig, partCount: number): number[] {
  const parts = new Set<number>()
  for (const term of termCounts(analyze(text, config)).keys()) {
    if (parts.size >= MAX_LEXICON_PARTS) break
    parts.add(lexiconPartOf(term, partCount))
  }
  return [...parts]
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
export function lexicalQuery(text: string, config: LexicalConfig, sources: ShardPostings[]): LexicalQuery {
  const all = termCounts(analyze(text, config))
  const idf = queryIdf(all, sources)
  const counts = new Map([...all].filter(([term]) => idf.has(term)))
  const max = maxLexicalScore(counts, idf, config)
  return { counts, scale: max > 0 ? 1 / max : 0 }
}

export interface FusionWeights {
  alpha: number
  beta: number
}

/**
 * Scores one shard's documents into `top`:
 * q·d (dense, in [−1, 1]) + β · BM25 / max BM25 (in [0, 1]) + α · p(cluster).
 */
export function scoreCluster(query: Float32Array, lexical: LexicalQuery, shard: ScoredVectors, cluster: ProbedCluster, weights: FusionWeights, config: LexicalConfig, top: TopK<Hit>): void {
  const dims = query.length
  const rows = shard.scales.length
  const lexicalScores = new Float32Array(rows)
  if (weights.beta > 0 && lexical.scale > 0) addLexicalScores(lexical.counts, shard.postings, lexical.scale, config, lexicalScores)
  const bonus = weights.alpha * cluster.prob
  for (let row = 0; row < rows; row++) {
    const dense = dotInt8(query, shard.vectors, row * dims) * shard.scales[row]
    const score = dense + weights.beta * lexicalScores[row] + bonus
    if (score > top.threshold) top.push({ row, node: cluster.node, dense, lexical: lexicalScores[row] }, score)
  }
}

/** The model's raw query output, as the unit vector the documents are compared with. */
export function queryVector(raw: Float32Array): Float32Array {
  return l2normalize(Float32Array.from(raw))
}
