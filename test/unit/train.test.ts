// The trainer's hand-derived gradients against central finite differences.
import { describe, expect, it } from 'vitest'
import { buildTree } from '../../src/core/tree.ts'
import { internalNodes, type QueryModelParams } from '../../src/core/query-model.ts'
import { accumulateExample, DEFAULT_TRAINING, DENSE_PARAMETERS, epochsFor, routingTargets, rowOfNodes, trainingExamplesFor, zeroGradients, type TrainingData, type TrainingExample } from '../../scripts/build/train.ts'
import { createRng, gaussian } from '../../scripts/build/random.ts'

const tree = buildTree({ parent: [-1, 0, 0, 0, 1, 1, 2, 2, 3, 3, 3] })
const leaves = Array.from(tree.leaves)
const shape = { buckets: 8, hidden: 5, dims: 4, decoderHidden: 3 }

function setup() {
  const rng = createRng(7)
  const random = (n: number, s = 0.5) => Float64Array.from({ length: n }, () => gaussian(rng) * s)
  const f32 = (n: number, s?: number) => Float32Array.from(random(n, s))
  // Float64 copies of the parameters make the finite differences exact enough to compare.
  const params: QueryModelParams = {
    ...shape,
    E: f32(shape.buckets * shape.hidden),
    Wq: f32(shape.hidden * shape.dims),
    bq: f32(shape.dims),
    Ed: f32(shape.buckets * shape.decoderHidden),
    bd: f32(shape.decoderHidden),
    P: f32(internalNodes(tree).length * shape.decoderHidden),
    U: f32((tree.size - 1) * shape.decoderHidden),
    beta: f32(tree.size - 1),
    M: f32((tree.size - 1) * shape.dims),
    gamma: Float32Array.of(1.7),
    C: f32((tree.size - 1) * shape.dims),
  }
  const docs = 6
  const docVectors = new Float32Array(docs * shape.dims)
  for (let d = 0; d < docs; d++) {
    const v = random(shape.dims, 1)
    const n = Math.hypot(...v)
    for (let j = 0; j < shape.dims; j++) docVectors[d * shape.dims + j] = v[j] / n
  }
  const leafOf = Int32Array.from({ length: docs }, (_, d) => leaves[d % leaves.length])
  const members = new Map<number, number[]>()
  leafOf.forEach((leaf, d) => members.set(leaf, [...(members.get(leaf) ?? []), d]))
  const data: TrainingData = { tree, docVectors, leafOf, members }
  // Routed to two other leaves besides the positive's: soft targets on several prefixes.
  const routeTo = new Map([[leaves[0], 0.6], [leaves[3], 0.4]])
  const example: TrainingExample = { features: { ids: Int32Array.from([1, 4, 6]), values: Float32Array.from([0.7, 1.3, 0.4]) }, doc: 4, routeTo }
  return { params, data, example, candidates: [4, 0, 2, 5] }
}

const options = { ...DEFAULT_TRAINING, temperature: 0.5, denseWeight: 0.7, positiveShare: 0.3 }

function totalLoss(s: ReturnType<typeof setup>): number {
  const loss = accumulateExample(s.params, s.data, rowOfNodes(tree), s.example, s.candidates, options, zeroGradients(s.params))
  return loss.cluster + loss.dense
}

describe('trainer gradients', () => {
  const s = setup()
  const grads = zeroGradients(s.params)
  accumulateExample(s.params, s.data, rowOfNodes(tree), s.example, s.candidates, options, grads)

  const check = (name: (typeof DENSE_PARAMETERS)[number], analytic: Float32Array) => {
    const param = s.params[name]
    let checked = 0
    for (let i = 0; i < param.length; i++) {
      const saved = param[i]
      const h = 1e-2
      param[i] = saved + h
      const up = totalLoss(s)
      param[i] = saved - h
      const down = totalLoss(s)
      param[i] = saved
      const numeric = (up - down) / (2 * h)
      expect(analytic[i], `${name}[${i}]`).toBeCloseTo(numeric, 2)
      if (Math.abs(numeric) > 1e-3) checked++
    }
    return checked
  }

  it.each(DENSE_PARAMETERS)('∂loss/∂%s matches finite differences', (name) => {
    expect(check(name, grads[name])).toBeGreaterThan(0)
  })

  it('leaves the centroids C out of training: the loss does not depend on them and nothing updates them', () => {
    const before = totalLoss(s)
    s.params.C.fill(0.5)
    expect(totalLoss(s)).toBe(before)
    expect(DENSE_PARAMETERS).not.toContain('C')
    expect(Object.keys(grads)).not.toContain('C')
  })

  it.each(['E', 'Ed'] as const)('∂loss/∂%s matches finite differences on the rows the query touches, and is absent elsewhere', (name) => {
    const E = s.params[name]
    const width = name === 'E' ? shape.hidden : shape.decoderHidden
    let checked = 0
    for (let row = 0; row < shape.buckets; row++) {
      const analytic = grads[name].get(row)
      expect(analytic !== undefined, `row ${row}`).toBe(Array.from(s.example.features.ids).includes(row))
      for (let j = 0; j < width; j++) {
        const i = row * width + j
        const saved = E[i]
        E[i] = saved + 1e-2
        const up = totalLoss(s)
        E[i] = saved - 1e-2
        const down = totalLoss(s)
        E[i] = saved
        const numeric = (up - down) / 2e-2
        expect(analytic?.[j] ?? 0, `E[${row},${j}]`).toBeCloseTo(numeric, 2)
        if (Math.abs(numeric) > 1e-3) checked++
      }
    }
    expect(checked).toBeGreaterThan(0)
  })
})

describe('routing targets', () => {
  it('split the target between the positive path and the routed leaves, consistently down the tree', () => {
    const targets = routingTargets(tree, leaves[1], new Map([[leaves[1], 0.5], [leaves[4], 0.5]]), 0.4)
    expect(targets.get(leaves[1])).toBeCloseTo(0.4 + 0.3)
    expect(targets.get(leaves[4])).toBeCloseTo(0.3)
    for (let node = 0; node < tree.size; node++) {
      if (tree.childStart[node] < 0) continue
      let children = 0
      for (let c = tree.childStart[node]; c < tree.childEnd[node]; c++) children += targets.get(c) ?? 0
      expect(children).toBeCloseTo(node === 0 ? 1 : (targets.get(node) ?? 0))
    }
  })

  it('put everything on the positive path without routed leaves', () => {
    const targets = routingTargets(tree, leaves[2], undefined, 0.4)
    expect(targets.get(leaves[2])).toBe(1)
  })
})

describe('training schedule', () => {
  it('gives small corpora enough steps and leaves large ones at the asked epochs', () => {
    expect(epochsFor({ ...DEFAULT_TRAINING, epochs: 4, minSteps: 400, batchSize: 32 }, 100)).toBe(100)
    expect(epochsFor({ ...DEFAULT_TRAINING, epochs: 4, minSteps: 400, batchSize: 32 }, 1_000_000)).toBe(4)
    expect(epochsFor({ ...DEFAULT_TRAINING, epochs: 0 }, 100)).toBe(0)
  })
})

describe('training budget', () => {
  it('caps the examples trained on, whatever the epochs would ask', () => {
    const options = { ...DEFAULT_TRAINING, epochs: 4, minSteps: 0, maxExamples: 1000 }
    expect(trainingExamplesFor(options, 100)).toBe(400)
    expect(trainingExamplesFor(options, 600)).toBe(1000)
    expect(trainingExamplesFor(options, 5000)).toBe(1000)
  })
})
