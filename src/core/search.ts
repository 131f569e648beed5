// One query's path after the model has run, shared by the Worker and the build
// (which uses it to choose α on held-out pseudo-queries): decode clusters, pick
// the shards to probe within the budget, score their documents, fuse.

import type { ClusterTree } from './tree.ts'
import type { SearchDefaults } from './manifest.ts'
import { beamSearch } from './beam.ts'
import { beamProbabilities, dotInt8, fuse, l2normalize, TopK } from './score.ts'

export interface ProbedCluster {
  node: number
  logProb: number
  /** Probability among the decoded beam: GDR's cluster score. */
  prob: number
}

/**
 * Decodes the beam, then keeps the best clusters until `probeDocs` documents are
 * covered (always at least one). A corpus smaller than the budget is scanned
 * whole when the beam is wide enough to reach every leaf.
 */
export function planProbe(tree: ClusterTree, logits: Float32Array, docsPerLeaf: (node: number) => number, search: SearchDefaults): ProbedCluster[] {
  const decoded = beamSearch(tree, logits, search.beam)
  const probs = beamProbabilities(decoded.map((d) => d.logProb))
  const probed: ProbedCluster[] = []
  let covered = 0
  for (let i = 0; i < decoded.length && (probed.length === 0 || covered < search.probeDocs); i++) {
    probed.push({ ...decoded[i], prob: probs[i] })
    covered += docsPerLeaf(decoded[i].node)
  }
  return probed
}

/** What the fine step needs of a shard: int8 vectors with per-row scales. */
export interface ScoredVectors {
  vectors: Int8Array
  scales: Float32Array
}

export interface Hit {
  /** Row in its shard. */
  row: number
  node: number
  dense: number
}

/** Scores one shard's documents into `top`: dense q·d plus α × cluster probability. */
export function scoreCluster(query: Float32Array, shard: ScoredVectors, cluster: ProbedCluster, alpha: number, top: TopK<Hit>): void {
  const dims = query.length
  const rows = shard.scales.length
  const bonus = fuse(0, cluster.prob, alpha)
  for (let row = 0; row < rows; row++) {
    const dense = dotInt8(query, shard.vectors, row * dims) * shard.scales[row]
    const score = dense + bonus
    if (score > top.threshold) top.push({ row, node: cluster.node, dense }, score)
  }
}

/** The model's raw query output, as the unit vector the documents are compared with. */
export function queryVector(raw: Float32Array): Float32Array {
  return l2normalize(Float32Array.from(raw))
}
