// The dual encoder's hand-derived gradients against central finite differences.
import { describe, expect, it } from 'vitest'
import { accumulateBatch, documentVectors, type Pair } from '../../scripts/build/dual-encoder.ts'
import { createRng, gaussian } from '../../scripts/build/random.ts'
import type { SparseFeatures } from '../../src/core/featurizer.ts'

const dims = 4
const buckets = 10
const rng = createRng(11)
const E = Float32Array.from({ length: buckets * dims }, () => gaussian(rng) * 0.5)
const bag = (ids: number[], values: number[]): SparseFeatures => ({ ids: Int32Array.from(ids), values: Float32Array.from(values) })
const docs = [bag([0, 1, 2], [1, 0.5, 0.7]), bag([3, 4], [1.2, 0.3]), bag([5, 6, 1], [0.4, 0.9, 1])]
// Two queries of document 0 in one batch: the copy must be masked, not used as a negative.
const batch: Pair[] = [
  { features: bag([1, 7], [1, 0.6]), doc: 0 },
  { features: bag([4, 8], [0.8, 1]), doc: 1 },
  { features: bag([9, 6], [1, 1]), doc: 2 },
  { features: bag([2, 7], [0.5, 0.5]), doc: 0 },
]
const temperature = 0.3
const lossAt = () => accumulateBatch(E, dims, docs, batch, temperature, new Map())

describe('dual encoder', () => {
  it('matches finite differences on every row a query or document touches', () => {
    const grads = new Map<number, Float32Array>()
    accumulateBatch(E, dims, docs, batch, temperature, grads)
    let checked = 0
    for (let row = 0; row < buckets; row++) {
      for (let k = 0; k < dims; k++) {
        const i = row * dims + k
        const saved = E[i]
        E[i] = saved + 1e-2
        const up = lossAt()
        E[i] = saved - 1e-2
        const down = lossAt()
        E[i] = saved
        const numeric = (up - down) / 2e-2
        expect(grads.get(row)?.[k] ?? 0, `E[${row},${k}]`).toBeCloseTo(numeric, 2)
        if (Math.abs(numeric) > 1e-3) checked++
      }
    }
    expect(checked).toBeGreaterThan(10)
  })

  it('gives unit document vectors', () => {
    const vectors = documentVectors(E, dims, docs)
    for (let d = 0; d < docs.length; d++) expect(Math.hypot(...vectors.subarray(d * dims, (d + 1) * dims))).toBeCloseTo(1, 5)
  })
})
