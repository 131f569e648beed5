// Partial ordering must order exactly as a full sort would, ties included.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { ByScore, siftDown, siftUp } from '../../src/core/best-first.ts'

// Few distinct scores, so ties are common; keys break them (unique, in any order).
const scoredArbitrary = fc.array(fc.integer({ min: -3, max: 3 }), { maxLength: 60 }).chain((scores) =>
  fc.shuffledSubarray(Array.from(scores, (_, i) => i * 7 - 20), { minLength: scores.length, maxLength: scores.length }).map((keys) => ({ scores, keys })),
)

describe('ByScore', () => {
  it('hands out every position by descending score, ties by ascending key, then −1', () => {
    fc.assert(
      fc.property(scoredArbitrary, ({ scores, keys }) => {
        const order = new ByScore(Float64Array.from(scores), Int32Array.from(keys))
        const taken: number[] = []
        for (let i = order.next(); i >= 0; i = order.next()) taken.push(i)
        const sorted = Array.from(scores, (_, i) => i).sort((a, b) => scores[b] - scores[a] || keys[a] - keys[b])
        expect(taken).toEqual(sorted)
        expect(order.next()).toBe(-1)
      }),
    )
  })
})

describe('siftUp / siftDown', () => {
  it('keep a heap whose root comes first', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -5, max: 5 }), { maxLength: 40 }), (values) => {
        const first = (a: number, b: number) => a < b
        const heap: number[] = []
        for (const v of values) {
          heap.push(v)
          siftUp(heap, heap.length - 1, first)
        }
        const out: number[] = []
        while (heap.length > 0) {
          out.push(heap[0])
          heap[0] = heap[heap.length - 1]
          heap.pop()
          if (heap.length > 0) siftDown(heap, 0, first)
        }
        expect(out).toEqual([...values].sort((a, b) => a - b))
      }),
    )
  })
})
