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
        // −0 and 0 are one score to TopK, as to the sort below; their order among ties is not promised.
        const value = (score: number) => score + 0
        expect(top.sorted().map((s) => value(s.score))).toEqual([...scores].sort((a, b) => b - a).slice(0, k).map(value))
      }),
      // A stream fast-check found where the heap's order of 0 and −0 differs from the sort's.
      { examples: [[[0, -0, -5e-324], 3]] },
    )
  })
})
