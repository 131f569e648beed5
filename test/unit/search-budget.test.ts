// The probe budget for a request of k results (searchForK): the index's own settings up to
// BUDGET_K, then a budget that grows as √(k / BUDGET_K) with a beam wide enough to cover it.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { beamFor, BUDGET_K, searchForK } from '../../src/core/search.ts'

const index = fc.record({ leaves: fc.integer({ min: 1, max: 4096 }), meanLeaf: fc.integer({ min: 1, max: 2000 }) }).map(({ leaves, meanLeaf }) => ({ leaves, docs: leaves * meanLeaf }))
const settings = (shape: { docs: number; leaves: number }, probeDocs: number) => ({ alpha: 0.2, beta: 3, probeDocs, beam: beamFor(probeDocs, shape.docs / shape.leaves, shape.leaves) })
/** What searchForK reads of a manifest: the index's search settings, documents and leaf shards. */
const manifestOf = (shape: { docs: number; leaves: number }, search: ReturnType<typeof settings>) => ({ search, docs: shape.docs, shards: new Array<unknown>(shape.leaves) })

describe('searchForK', () => {
  it('keeps the index\'s settings up to BUDGET_K', () => {
    fc.assert(
      fc.property(index, fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 1, max: BUDGET_K }), (shape, probeDocs, k) => {
        const search = settings(shape, probeDocs)
        expect(searchForK(manifestOf(shape, search), k)).toBe(search)
      }),
    )
  })

  it('past it, grows the budget as √(k / BUDGET_K), never shrinks the beam, and widens it to the budget', () => {
    fc.assert(
      fc.property(index, fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: BUDGET_K + 1, max: 1000 }), (shape, probeDocs, k) => {
        const search = settings(shape, probeDocs)
        const deeper = searchForK(manifestOf(shape, search), k)
        expect(deeper.probeDocs).toBe(Math.ceil(probeDocs * Math.sqrt(k / BUDGET_K)))
        expect(deeper.beam).toBe(Math.max(search.beam, beamFor(deeper.probeDocs, shape.docs / shape.leaves, shape.leaves)))
        expect(deeper.beam).toBeLessThanOrEqual(shape.leaves)
        expect({ ...deeper, probeDocs: 0, beam: 0 }).toEqual({ ...search, probeDocs: 0, beam: 0 })
        const further = searchForK(manifestOf(shape, search), k + 1)
        expect(further.probeDocs).toBeGreaterThanOrEqual(deeper.probeDocs)
        expect(further.beam).toBeGreaterThanOrEqual(deeper.beam)
      }),
    )
  })

  it('at k = 100 reads √10 ≈ 3.2 times the documents', () => {
    const shape = { docs: 186_823, leaves: 1024 }
    const search = settings(shape, 5632)
    expect(search.beam).toBe(39) // the npm 186K index's own beam
    expect(searchForK(manifestOf(shape, search), 100)).toEqual({ ...search, probeDocs: 17_810, beam: 106 })
  })
})
