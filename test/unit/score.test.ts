// The fine step's arithmetic: the unrolled int8 dot product and the top-k heap.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { dotInt8, TopK } from '../../src/core/score.ts'

describe('dotInt8', () => {
  it('equals the plain sum over the row at any offset, for any number of dimensions', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 19 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (dims, row, seed) => {
        let x = seed
        const next = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) % 255) - 127
        const query = Float32Array.from({ length: dims }, () => next() / 97)
        const values = Int8Array.from({ length: 4 * dims }, next)
        let plain = 0
        for (let d = 0; d < dims; d++) plain += query[d] * values[row * dims + d]
        expect(dotInt8(query, values, row * dims)).toBeCloseTo(plain, 9)
      }),
    )
  })
})

describe('TopK', () => {
  it('keeps the k best of any stream, best first', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ noNaN: true, min: -1e6, max: 1e6 })), fc.integer({ min: 0, max: 8 }), (scores, k) => {
        const top = new TopK<number>(k)
        scores.forEach((score, i) => top.push(i, score))
        expect(top.sorted().map((s) => s.score)).toEqual([...scores].sort((a, b) => b - a).slice(0, k))
      }),
    )
  })
})
