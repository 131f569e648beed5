import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { FeatureArena } from '../../scripts/build/feature-arena.ts'
import type { SparseFeatures } from '../../src/core/featurizer.ts'

const list = (n: number, seed: number): SparseFeatures => ({
  ids: Int32Array.from({ length: n }, (_, i) => (seed * 7919 + i * 31) | 0),
  values: Float32Array.from({ length: n }, (_, i) => Math.fround(seed + i / 8)),
})

describe('FeatureArena', () => {
  it('keeps every list with its values, none overwriting another', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 60 }), (lengths) => {
        const arena = new FeatureArena()
        const originals = lengths.map((n, i) => list(n, i))
        const kept = originals.map((f) => arena.keep(f))
        kept.forEach((k, i) => {
          expect(Array.from(k.ids)).toEqual(Array.from(originals[i].ids))
          expect(Array.from(k.values)).toEqual(Array.from(originals[i].values))
        })
      }),
    )
  })

  it('shares buffers across lists, starts a new chunk when one is full, and copies a list longer than a chunk', () => {
    const arena = new FeatureArena()
    const originals = Array.from({ length: 300 }, (_, i) => list(5000, i)) // 1.5M entries: past one chunk
    const kept = originals.map((f) => arena.keep(f))
    expect(kept[1].ids.buffer).toBe(kept[0].ids.buffer)
    expect(new Set(kept.map((k) => k.ids.buffer)).size).toBe(2)
    kept.forEach((k, i) => expect(Array.from(k.values)).toEqual(Array.from(originals[i].values)))
    const long = list((1 << 20) + 1, 1)
    const keptLong = arena.keep(long)
    expect(keptLong.ids).not.toBe(long.ids)
    expect(Array.from(keptLong.ids)).toEqual(Array.from(long.ids))
    // A kept list does not change when its source does.
    long.ids[0] = 42
    expect(keptLong.ids[0]).not.toBe(42)
  })
})
