// Each leaf's part centroids: spherical k-means inside the leaf (scripts/build/part-centroids.ts).
import { describe, expect, it } from 'vitest'
import { partCentroids } from '../../scripts/build/part-centroids.ts'
import { PARTS_PER_LEAF } from '../../src/core/centroids.ts'

const dims = 3
const unit = (v: number[]) => {
  const n = Math.hypot(...v)
  return v.map((x) => x / n)
}
/** Row r of the dequantized part centroids. */
const partRow = (parts: ReturnType<typeof partCentroids>, r: number) => Array.from(parts.vectors.subarray(r * dims, (r + 1) * dims), (v) => v * parts.scales[r])
const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0)

describe('part centroids', () => {
  // Leaf 5: two tight groups (near x and near y, interleaved); leaf 6: two documents; leaf 7: one.
  const docs = [
    [1, 0.05, 0], [0.02, 1, 0.03], [1, -0.04, 0.02], [-0.03, 1, 0], [1, 0.02, -0.05], [0.04, 1, 0.02], [1, 0, 0.04], [0, 1, -0.02],
    [0, 0, 1], [0.6, 0, 0.8],
    [0.6, 0.8, 0],
  ].map(unit)
  const docVectors = Float32Array.from(docs.flat())
  const members = new Map([[5, [0, 1, 2, 3, 4, 5, 6, 7]], [6, [8, 9]], [7, [10]]])
  const parts = partCentroids([5, 6, 7], members, docVectors, dims)

  it('gives each leaf min(PARTS_PER_LEAF, its documents) unit rows', () => {
    expect(Array.from(parts.start)).toEqual([0, PARTS_PER_LEAF, PARTS_PER_LEAF + 2, PARTS_PER_LEAF + 3])
    for (let r = 0; r < parts.start[3]; r++) expect(Math.hypot(...partRow(parts, r))).toBeCloseTo(1, 1)
    // A leaf of one or two documents: the documents themselves, in order.
    expect(dot(partRow(parts, PARTS_PER_LEAF), docs[8])).toBeGreaterThan(0.99)
    expect(dot(partRow(parts, PARTS_PER_LEAF + 1), docs[9])).toBeGreaterThan(0.99)
    expect(dot(partRow(parts, PARTS_PER_LEAF + 2), docs[10])).toBeGreaterThan(0.99)
  })

  it('stands for every document of the leaf closer than the leaf\'s mean does', () => {
    const mean = unit([0, 1, 2, 3, 4, 5, 6, 7].reduce((s, d) => s.map((x, j) => x + docs[d][j]), [0, 0, 0]))
    for (let d = 0; d < 8; d++) {
      const nearest = Math.max(...Array.from({ length: PARTS_PER_LEAF }, (_, r) => dot(partRow(parts, r), docs[d])))
      expect(nearest).toBeGreaterThan(0.98)
      expect(nearest).toBeGreaterThan(dot(mean, docs[d]) + 0.2)
    }
  })

  it('gives a leaf without documents one zero row, identical documents identical parts, and a zero vector a zero part', () => {
    const zeros = new Float32Array(dims)
    const vectors = Float32Array.from([...docs[0], ...docs[0], ...docs[0], ...zeros, ...docs[1]])
    const edge = partCentroids([1, 2, 3, 4], new Map([[1, []], [2, [0, 1, 2]], [3, [3, 4]]]), vectors, dims)
    // Leaf 1 (empty) and leaf 4 (not in members): one zero row each; leaf 2: three; leaf 3: two.
    expect(Array.from(edge.start)).toEqual([0, 1, 4, 6, 7])
    for (const r of [0, 6]) expect(partRow(edge, r)).toEqual([0, 0, 0])
    for (const r of [1, 2, 3]) expect(dot(partRow(edge, r), docs[0])).toBeGreaterThan(0.99)
    // Leaf 3: the zero vector keeps a zero part (its document scores 0 against any query), the other its document.
    const leaf3 = [partRow(edge, 4), partRow(edge, 5)]
    expect(leaf3.some((row) => row.every((x) => x === 0))).toBe(true)
    expect(Math.max(...leaf3.map((row) => dot(row, docs[1])))).toBeGreaterThan(0.99)
  })
})
