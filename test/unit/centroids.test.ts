// The leaf centroids routing compares a query with: the shared similarity and its codec.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { Packr } from 'msgpackr'
import { CentroidTable, type LeafCentroids } from '../../src/core/centroids.ts'
import { decodeLeafCentroids, encodeLeafCentroids, ShardDecodeError } from '../../src/core/shard-codec.ts'
import { quantizeRows } from '../../src/core/quant.ts'
import { nodeDenseKernel } from '../../scripts/node-kernel.ts'
import { buildTree } from '../../src/core/tree.ts'

const dims = 5
const nodes = Uint32Array.of(2, 3, 7)
const floats = Float32Array.from({ length: nodes.length * dims }, (_, i) => Math.sin(i + 1))
const quantized = quantizeRows(floats, nodes.length, dims)
// Part centroids: two for leaf 2, one for leaf 3, three for leaf 7.
const partStart = Uint32Array.of(0, 2, 3, 6)
const partFloats = Float32Array.from({ length: 6 * dims }, (_, i) => Math.cos(3 * i + 1))
const partQuantized = quantizeRows(partFloats, 6, dims)
const parts = { start: partStart, vectors: partQuantized.values, scales: partQuantized.scales }
const centroids: LeafCentroids = { dims, nodes, vectors: quantized.values, scales: quantized.scales, parts }
// Leaves 2, 3 and 7: 0 → 1, 2; 1 → 3, 4; 4 → 5 → 6 → 7.
const tree = buildTree({ parent: [-1, 0, 0, 1, 1, 4, 5, 6] })

describe('leaf centroid similarity', () => {
  const kernel = nodeDenseKernel()
  const table = new CentroidTable(centroids, tree, dims, kernel)
  const query = Float32Array.of(0.5, -0.5, 0.5, -0.5, 0)
  const sims = table.similarities(query)()
  const similarity = (node: number) => sims[node]

  it('is the dot product of the query and the dequantized row, by node, to the dense kernel\'s bits', () => {
    const direct = new Float64Array(nodes.length)
    kernel.scoreRows(query, centroids.vectors, centroids.scales, direct)
    nodes.forEach((node, row) => {
      expect(similarity(node)).toBe(direct[row])
      let expected = 0
      for (let d = 0; d < dims; d++) expected += query[d] * quantized.values[row * dims + d] * quantized.scales[row]
      expect(similarity(node)).toBeCloseTo(expected, 12)
      // And within the int8 rounding of the float centroid.
      let float = 0
      for (let d = 0; d < dims; d++) float += query[d] * floats[row * dims + d]
      expect(Math.abs(similarity(node) - float)).toBeLessThan(dims * quantized.scales[row])
    })
  })

  it('keeps its rows apart from shard scoring: a shard scored in between changes nothing', () => {
    const before = Array.from(nodes, similarity)
    kernel.scoreRows(query, Int8Array.from({ length: 40 * dims }, (_, i) => (i % 200) - 100), new Float32Array(40).fill(3), new Float64Array(40))
    const again = table.similarities(query)()
    expect(Array.from(nodes, (node) => again[node])).toEqual(before)
  })

  it('has one similarity for every node of the tree, NaN for a node without a centroid; partSimilarity throws for one', () => {
    expect(sims.length).toBe(tree.size)
    expect(Number.isNaN(similarity(4))).toBe(true)
    expect(Number.isNaN(similarity(0))).toBe(true)
    expect(() => table.partSimilarity(query)(4)).toThrow(/node 4 has none/)
  })

  it('partSimilarity: the query against the nearest of the leaf\'s own part centroids, as the dense kernel scores each', () => {
    const partSim = table.partSimilarity(query)
    nodes.forEach((node, row) => {
      const [first, end] = [partStart[row], partStart[row + 1]]
      const dots = new Float64Array(end - first)
      kernel.scoreRows(query, partQuantized.values.subarray(first * dims, end * dims), partQuantized.scales.subarray(first, end), dots)
      expect(partSim(node)).toBe(Math.max(...dots))
      // The kernel's dot of the dequantized rows, to rounding.
      for (let part = first; part < end; part++) {
        let dot = 0
        for (let d = 0; d < dims; d++) dot += query[d] * partQuantized.values[part * dims + d] * partQuantized.scales[part]
        expect(dots[part - first]).toBeCloseTo(dot, 12)
      }
    })
    // Leaf 7's second part made far larger along the query: it is the nearest, and the other leaves do not see it.
    const toward = Int8Array.from(parts.vectors)
    toward.set(Int8Array.of(127, -127, 127, -127, 0), 4 * dims)
    const scales = Float32Array.from(parts.scales)
    scales[4] = 10 / 127
    const pointed = new CentroidTable({ ...centroids, parts: { ...parts, vectors: toward, scales } }, tree, dims, kernel).partSimilarity(query)
    expect(pointed(7)).toBeCloseTo(20, 5)
    expect(pointed(2)).toBe(partSim(2))
    expect(pointed(3)).toBe(partSim(3))
  })

  it('is built only from centroids of the index\'s dims and of exactly its tree\'s leaves', () => {
    expect(() => new CentroidTable(centroids, tree, dims + 1, kernel)).toThrow(/5 dims, not the index's 6/)
    expect(() => new CentroidTable(centroids, buildTree({ parent: [-1, 0, 0, 1, 1] }), dims, kernel)).toThrow(/node 7 is not in a tree of 5 nodes/)
    // Leaves 2, 3, 5 and 7: leaf 5 has no centroid.
    expect(() => new CentroidTable(centroids, buildTree({ parent: [-1, 0, 0, 1, 1, 4, 4, 6] }), dims, kernel)).toThrow(/3 rows are not exactly the tree's 4 leaves/)
    // Leaves 2, 6 and 7: as many, but node 3 is not a leaf and 6 has no centroid.
    expect(() => new CentroidTable(centroids, buildTree({ parent: [-1, 0, 0, 1, 3, 4, 5, 5] }), dims, kernel)).toThrow(/3 rows are not exactly the tree's 3 leaves/)
  })
})

describe('leaf centroids codec', () => {
  it('round-trips any centroids exactly', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 5000 }), { maxLength: 20 }), fc.integer({ min: 1, max: 9 }), (list, d) => {
        const sorted = Uint32Array.from(list.sort((a, b) => a - b))
        // 1 to 3 parts a leaf.
        const start = new Uint32Array(sorted.length + 1)
        sorted.forEach((node, i) => (start[i + 1] = start[i] + 1 + (node % 3)))
        const rows = start[sorted.length]
        const c: LeafCentroids = {
          dims: d, nodes: sorted, vectors: Int8Array.from({ length: sorted.length * d }, (_, i) => ((i * 37) % 255) - 127), scales: Float32Array.from(sorted, (n) => n / 7),
          parts: { start, vectors: Int8Array.from({ length: rows * d }, (_, i) => ((i * 53) % 255) - 127), scales: Float32Array.from({ length: rows }, (_, i) => ((i % 7) + 1) / 1000) },
        }
        const back = decodeLeafCentroids(encodeLeafCentroids(c))
        expect(back.dims).toBe(d)
        expect(Array.from(back.nodes)).toEqual(Array.from(sorted))
        expect(Array.from(back.vectors)).toEqual(Array.from(c.vectors))
        expect(Array.from(back.scales)).toEqual(Array.from(c.scales))
        expect(Array.from(back.parts.start)).toEqual(Array.from(start))
        expect(Array.from(back.parts.vectors)).toEqual(Array.from(c.parts.vectors))
        expect(Array.from(back.parts.scales)).toEqual(Array.from(c.parts.scales))
      }),
    )
  })

  it('rejects every truncation, and inconsistent contents, with a ShardDecodeError', () => {
    const bytes = encodeLeafCentroids(centroids)
    for (let n = 0; n < bytes.length; n++) expect(() => decodeLeafCentroids(bytes.subarray(0, n))).toThrow(ShardDecodeError)
    expect(() => encodeLeafCentroids({ ...centroids, nodes: Uint32Array.of(3, 2, 7) })).toThrow(/ascending/)
    expect(() => encodeLeafCentroids({ ...centroids, scales: Float32Array.of(1, 2) })).toThrow(/expected 3 scales/)
    expect(() => encodeLeafCentroids({ ...centroids, scales: Float32Array.of(1, NaN, 2) })).toThrow(/finite/)
    expect(() => encodeLeafCentroids({ ...centroids, parts: { ...parts, start: Uint32Array.of(0, 2, 3) } })).toThrow(/expected 4 part starts from 0/)
    expect(() => encodeLeafCentroids({ ...centroids, parts: { ...parts, start: Uint32Array.of(1, 2, 3, 6) } })).toThrow(/part starts from 0/)
    expect(() => encodeLeafCentroids({ ...centroids, parts: { ...parts, start: Uint32Array.of(0, 2, 2, 6) } })).toThrow(/at least one part centroid/)
    expect(() => encodeLeafCentroids({ ...centroids, parts: { ...parts, start: Uint32Array.of(0, 2, 3, 5) } })).toThrow(/expected 5 part scales/)
    expect(() => encodeLeafCentroids({ ...centroids, parts: { ...parts, scales: Float32Array.of(1, 1, 1, Infinity, 1, 1) } })).toThrow(/part scales must be within \[0, 1\]/)
    // A huge scale would overflow a dot product to ±Infinity, which would rank its leaf first or last whatever the query.
    expect(() => encodeLeafCentroids({ ...centroids, parts: { ...parts, scales: Float32Array.of(0.01, 0.01, 0.01, 1e37, 0.01, 0.01) } })).toThrow(/within \[0, 1\]/)
    expect(() => encodeLeafCentroids({ ...centroids, parts: { ...parts, scales: Float32Array.of(0.01, -0.01, 0.01, 0.01, 0.01, 0.01) } })).toThrow(/within \[0, 1\]/)
    // A file of the format before part centroids is refused by its format number.
    const packr = new Packr({ useRecords: false, moreTypes: false })
    expect(() => decodeLeafCentroids(packr.pack({ format: 1, dims, nodes: new Uint8Array(nodes.buffer), vectors: new Uint8Array(quantized.values.buffer), scales: new Uint8Array(quantized.scales.buffer) }))).toThrow(/unsupported leaf centroids format 1/)
  })
})
