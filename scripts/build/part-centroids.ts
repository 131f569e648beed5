// Each leaf's part centroids: spherical k-means inside the leaf, a few unit
// vectors that stand for its documents better than their one mean does. Routing
// compares the query with them for the leaves near its plan's cut (rankCandidates).

import { PARTS_PER_LEAF, type PartCentroids } from '../../src/core/centroids.ts'
import { quantizeRows } from '../../src/core/quant.ts'

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
  const rows: Float32Array[] = []
  for (let l = 0; l < leaves.length; l++) {
    const docs = members.get(leaves[l]) ?? []
    const parts = leafParts(docs, docVectors, dims)
    rows.push(parts)
    start[l + 1] = start[l] + parts.length / dims
  }
  const all = new Float32Array(start[leaves.length] * dims)
  let at = 0
  for (const parts of rows) {
    all.set(parts, at)
    at += parts.length
  }
  const quantized = quantizeRows(all, start[leaves.length], dims)
  return { start, vectors: quantized.values, scales: quantized.scales }
}

function leafParts(docs: readonly number[], docVectors: Float32Array, dims: number): Float32Array {
  const k = Math.max(1, Math.min(PARTS_PER_LEAF, docs.length))
  const centroids = new Float32Array(k * dims)
  if (docs.length === 0) return centroids
  for (let j = 0; j < k; j++) {
    const doc = docs[Math.floor((j * docs.length) / k)]
    centroids.set(docVectors.subarray(doc * dims, (doc + 1) * dims), j * dims)
  }
  const sums = new Float64Array(k * dims)
  const counts = new Uint32Array(k)
  for (let round = 0; round < ROUNDS; round++) {
    sums.fill(0)
    counts.fill(0)
    for (const doc of docs) {
      const base = doc * dims
      let best = 0
      let bestDot = -Infinity
      for (let j = 0; j < k; j++) {
        let dot = 0
        for (let d = 0; d < dims; d++) dot += centroids[j * dims + d] * docVectors[base + d]
        if (dot > bestDot) {
          bestDot = dot
          best = j
        }
      }
      counts[best]++
      for (let d = 0; d < dims; d++) sums[best * dims + d] += docVectors[base + d]
    }
    for (let j = 0; j < k; j++) {
      if (counts[j] === 0) continue
      let norm = 0
      for (let d = 0; d < dims; d++) norm += sums[j * dims + d] ** 2
      norm = Math.sqrt(norm)
      if (norm > 0) for (let d = 0; d < dims; d++) centroids[j * dims + d] = sums[j * dims + d] / norm
    }
  }
  return centroids
}
