// Each leaf's part centroids: spherical k-means inside the leaf, a few unit
// vectors that stand for its documents better than their one mean does. Routing
// compares the query with them for the leaves near its plan's cut (rankCandidates).

import { PARTS_PER_LEAF, type PartCentroids } from '../../src/core/centroids.ts'
import { quantizeRows } from '../../src/core/quant.ts'
import { dotAt, meanDirections } from './cluster-tree.ts'

/** Lloyd rounds per leaf: assignments settle in a few on the leaves of a balanced tree. */
const ROUNDS = 8

/**
 * For every leaf, in the order given: min(PARTS_PER_LEAF, its documents) unit
 * centroids (at least one), int8 with per-row scales. Deterministic: the parts
 * start at documents spread evenly over the leaf's list, a document joins the part
 * it is most similar to (the first on ties), and a part left empty keeps its
 * centroid. A part of zero vectors, or the one part of a leaf without documents,
 * is a zero row: its similarity is 0.
 */
export function partCentroids(leaves: ArrayLike<number>, members: ReadonlyMap<number, readonly number[]>, docVectors: Float32Array, dims: number): PartCentroids {
  const start = new Uint32Array(leaves.length + 1)
  for (let l = 0; l < leaves.length; l++) start[l + 1] = start[l] + partsFor(members.get(leaves[l])?.length ?? 0)
  const all = new Float32Array(start[leaves.length] * dims)
  for (let l = 0; l < leaves.length; l++) all.set(leafParts(members.get(leaves[l]) ?? [], docVectors, dims), start[l] * dims)
  const quantized = quantizeRows(all, start[leaves.length], dims)
  return { start, vectors: quantized.values, scales: quantized.scales }
}

const partsFor = (docs: number) => Math.max(1, Math.min(PARTS_PER_LEAF, docs))

/** Spherical k-means of one leaf's documents: cluster-tree.ts's mean directions, without its size balance. */
function leafParts(docs: readonly number[], docVectors: Float32Array, dims: number): Float32Array {
  const k = partsFor(docs.length)
  let centroids: Float32Array = new Float32Array(k * dims)
  if (docs.length === 0) return centroids
  for (let j = 0; j < k; j++) {
    const doc = docs[Math.floor((j * docs.length) / k)]
    centroids.set(docVectors.subarray(doc * dims, (doc + 1) * dims), j * dims)
  }
  const assignment = new Int32Array(docs.length)
  for (let round = 0; round < ROUNDS; round++) {
    docs.forEach((doc, i) => {
      let bestDot = -Infinity
      for (let j = 0; j < k; j++) {
        const dot = dotAt(docVectors, doc * dims, centroids, j * dims, dims)
        if (dot > bestDot) {
          bestDot = dot
          assignment[i] = j
        }
      }
    })
    centroids = meanDirections(docVectors, dims, docs, assignment, k, centroids)
  }
  return centroids
}
