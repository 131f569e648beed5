// The fine step's top-k heap (its dot products: dense-kernel.test.ts).
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { TopK } from '../../src/core/score.ts'

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
