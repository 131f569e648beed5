// The fine step's top-k heap (its dot products: dense-kernel.test.ts).
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { TopK } from '../../src/core/score.ts'

describe('TopK', () => {
  it('keeps the k best of any stream, best first, equal scores by tie order, whatever the order of the stream', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ noNaN: true, min: -1e6, max: 1e6 })), fc.integer({ min: 0, max: 8 }), fc.integer(), (scores, k, seed) => {
        // Items are positions; equal scores (−0 and 0 included) keep the lower position first.
        const expected = scores.map((score, i) => ({ i, score })).sort((a, b) => b.score - a.score || a.i - b.i).slice(0, k)
        const pushOrder = scores.map((_, i) => i).sort((a, b) => ((a * 7919 + seed) % 17) - ((b * 7919 + seed) % 17))
        const top = new TopK<number>(k, (a, b) => a - b)
        for (const i of pushOrder) top.push(i, scores[i])
        expect(top.sorted().map((s) => [s.item, s.score])).toEqual(expected.map((e) => [e.i, e.score]))
      }),
      // Streams fast-check found: the heap's order of 0 and −0; a better item that evicted the earlier of two ties.
      { examples: [[[0, -0, -5e-324], 3, 0], [[0, 0, 1], 2, 0]] },
    )
  })
})
