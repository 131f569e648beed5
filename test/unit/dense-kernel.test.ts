// The dense kernel (src/core/dense-kernel.wat): built from its source, and
// bit-for-bit the float64 sum in the order the source states, for any shape.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { compileKernel, KERNELS } from '../../scripts/compile-kernel.ts'
import { KERNEL_BINARY, nodeDenseKernel } from '../../scripts/node-kernel.ts'

/** The stated order: sums s0..s3 over d mod 4 up to the last multiple of 4, the rest into s0, then ((s0+s1)+s2)+s3, times the scale. */
function reference(query: Float32Array, vectors: Int8Array, scales: Float32Array): Float64Array {
  const dims = query.length
  const unrolled = dims - (dims % 4)
  return Float64Array.from(scales, (scale, r) => {
    const s = [0, 0, 0, 0]
    for (let d = 0; d < unrolled; d++) s[d % 4] += query[d] * vectors[r * dims + d]
    for (let d = unrolled; d < dims; d++) s[0] += query[d] * vectors[r * dims + d]
    return (s[0] + s[1] + s[2] + s[3]) * scale
  })
}

const shard = (dims: number, rows: number, seed: number) => {
  let x = seed
  const next = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) % 255) - 127
  return {
    query: Float32Array.from({ length: dims }, () => next() / 97),
    vectors: Int8Array.from({ length: rows * dims }, next),
    scales: Float32Array.from({ length: rows }, () => (next() + 128) / 4096),
  }
}

describe('the dense kernel', () => {
  it('is what `npm run kernel` compiles from dense-kernel.wat, as is the lexical kernel from lexical-kernel.wat', async () => {
    expect(await compileKernel()).toEqual(new Uint8Array(readFileSync(KERNEL_BINARY)))
    for (const { source, binary } of KERNELS) expect(await compileKernel(readFileSync(source, 'utf8'), source)).toEqual(new Uint8Array(readFileSync(binary)))
  })

  it('gives every row the reference sum to the bit, for any dims and rows', () => {
    const kernel = nodeDenseKernel()
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 0, max: 30 }), fc.nat(), (dims, rows, seed) => {
        const { query, vectors, scales } = shard(dims, rows, seed)
        const out = new Float64Array(rows)
        kernel.scoreRows(query, vectors, scales, out)
        expect(out).toEqual(reference(query, vectors, scales))
        // …and the reference is the dot product (a wrong reference would not be).
        for (let r = 0; r < rows; r++) {
          let plain = 0
          for (let d = 0; d < dims; d++) plain += query[d] * vectors[r * dims + d]
          expect(out[r]).toBeCloseTo(plain * scales[r], 9)
        }
      }),
    )
  })

  it('grows its memory for a large shard and stays right for small ones after', () => {
    const kernel = nodeDenseKernel()
    for (const [dims, rows] of [[768, 2000], [3, 2], [96, 5632]]) {
      const { query, vectors, scales } = shard(dims, rows, dims)
      const out = new Float64Array(rows)
      kernel.scoreRows(query, vectors, scales, out)
      expect(out).toEqual(reference(query, vectors, scales))
    }
  })

  it('resident rows score as scoreRows does, all of them or the best of any run against a query held, and refuse a run past them', () => {
    const kernel = nodeDenseKernel()
    const max = (xs: Float64Array) => xs.reduce((a, b) => Math.max(a, b), -Infinity)
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 30 }), fc.nat(), fc.nat(), fc.nat(), (dims, rows, seed, a, b) => {
        const { query, vectors, scales } = shard(dims, rows, seed)
        const other = shard(dims, rows, seed + 1).query
        const resident = kernel.resident(vectors, scales, dims)
        const expected = reference(query, vectors, scales)
        const all = new Float64Array(rows)
        resident.scoreAll(query, all)
        expect(all).toEqual(expected)
        const first = a % rows
        const count = 1 + (b % (rows - first))
        const held = resident.against(query)
        const best = max(expected.subarray(first, first + count))
        expect(held.best(first, count)).toBe(best)
        // What comes in between does not reach it: the caller's array changed, another
        // query held or scored on the same rows, a shard scored by the kernel.
        query.fill(0)
        const otherHeld = resident.against(other)
        expect(otherHeld.best(first, count)).toBe(max(reference(other, vectors, scales).subarray(first, first + count)))
        expect(held.best(first, count)).toBe(best)
        resident.scoreAll(other, all)
        kernel.scoreRows(other, vectors.map((v) => -v), scales, new Float64Array(rows))
        expect(held.best(first, count)).toBe(best)
      }),
    )
    const { query, vectors, scales } = shard(4, 3, 2)
    const resident = kernel.resident(vectors, scales, 4)
    const held = resident.against(query)
    expect(() => held.best(2, 2)).toThrow(/rows 2…3 are not within the 3 held/)
    expect(() => held.best(-1, 1)).toThrow(/not within/)
    expect(() => held.best(0, 0)).toThrow(/not within/)
    expect(() => resident.scoreAll(query, new Float64Array(2))).toThrow(/room for 3 scores/)
    expect(() => resident.against(query.subarray(1))).toThrow(/a query of 4 dims/)
    expect(() => resident.scoreAll(query.subarray(1), new Float64Array(3))).toThrow(/a query of 4 dims/)
  })

  it('refuses vectors that do not match the rows and dims', () => {
    const { query, vectors, scales } = shard(8, 4, 1)
    expect(() => nodeDenseKernel().scoreRows(query, vectors.subarray(1), scales, new Float64Array(4))).toThrow(/4 rows × 8 dims/)
    expect(() => nodeDenseKernel().scoreRows(query, vectors, scales, new Float64Array(3))).toThrow(/room for 4 scores/)
  })
})
