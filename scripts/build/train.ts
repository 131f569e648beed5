// Trains the query model with hand-derived gradients (checked against finite
// differences in test/unit/train.test.ts). Per example:
//   inter-cluster loss: cross-entropy of each token of the positive's cluster ID
//     given the query and the prefix (teacher forcing),
//   intra-cluster loss: InfoNCE of cos(q, d⁺)/τ against cluster-adaptive
//     negatives (documents of the positive's own leaf) and in-batch negatives.
// Document vectors are frozen. Dense parameters use Adam; the embedding table
// uses lazy Adam on the rows a batch touches, so a step costs what the batch reads.

import type { SparseFeatures } from '../../src/core/featurizer.ts'
import type { ClusterTree } from '../../src/core/tree.ts'
import { pathNodes } from '../../src/core/tree.ts'
import type { QueryModelParams } from '../../src/core/query-model.ts'
import { affine, embedBag, internalNodes } from '../../src/core/query-model.ts'
import { type Rng, randomInt, shuffle } from './random.ts'

export interface TrainingExample {
  features: SparseFeatures
  doc: number
}

export interface TrainingOptions {
  epochs: number
  batchSize: number
  learningRate: number
  embeddingLearningRate: number
  temperature: number
  clusterNegatives: number
  /** Weight of the intra-cluster (InfoNCE) loss relative to the cluster-ID loss. */
  denseWeight: number
  /** Small corpora get more epochs: training runs at least this many optimizer steps. */
  minSteps: number
}

export const DEFAULT_TRAINING: TrainingOptions = {
  epochs: 4,
  batchSize: 32,
  learningRate: 2e-3,
  embeddingLearningRate: 5e-4,
  temperature: 0.05,
  clusterNegatives: 10,
  denseWeight: 1,
  minSteps: 400,
}

/** Epochs to run: as asked, or more when the corpus is too small to reach `minSteps`. */
export function epochsFor(options: TrainingOptions, examples: number): number {
  if (options.epochs === 0 || examples === 0) return 0
  const stepsPerEpoch = Math.ceil(examples / options.batchSize)
  return Math.max(options.epochs, Math.ceil(options.minSteps / stepsPerEpoch))
}

export interface TrainingData {
  tree: ClusterTree
  /** Frozen, unit-length document vectors (docs × dims). */
  docVectors: Float32Array
  leafOf: Int32Array
  members: Map<number, number[]>
}

/** Gradients of the dense parameters; the embedding table's are kept per touched row. */
export interface Gradients {
  E: Map<number, Float32Array>
  Wq: Float32Array
  bq: Float32Array
  Wd: Float32Array
  bd: Float32Array
  P: Float32Array
  U: Float32Array
  beta: Float32Array
}

export function zeroGradients(p: QueryModelParams): Gradients {
  return {
    E: new Map(),
    Wq: new Float32Array(p.Wq.length),
    bq: new Float32Array(p.bq.length),
    Wd: new Float32Array(p.Wd.length),
    bd: new Float32Array(p.bd.length),
    P: new Float32Array(p.P.length),
    U: new Float32Array(p.U.length),
    beta: new Float32Array(p.beta.length),
  }
}

export interface LossParts {
  cluster: number
  dense: number
}

/**
 * Adds one example's gradients into `grads` and returns its losses.
 * `candidates[0]` is the positive document, the rest are negatives.
 */
export function accumulateExample(p: QueryModelParams, data: TrainingData, rowOfNode: Int32Array, example: TrainingExample, candidates: number[], options: TrainingOptions, grads: Gradients): LossParts {
  const { hidden: H, dims: D, decoderHidden: Hd } = p
  const h = embedBag(p, example.features)
  const dh = new Float64Array(H)

  // Inter-cluster: −Σ_levels log p(token | query, prefix).
  const g = affine(h, p.Wd, p.bd)
  const dg = new Float64Array(Hd)
  let clusterLoss = 0
  for (const node of pathNodes(data.tree, data.leafOf[example.doc])) {
    const parent = data.tree.parent[node]
    const row = rowOfNode[parent]
    const state = new Float64Array(Hd)
    for (let j = 0; j < Hd; j++) state[j] = Math.tanh(g[j] + p.P[row * Hd + j])
    const start = data.tree.childStart[parent]
    const end = data.tree.childEnd[parent]
    const logits = new Float64Array(end - start)
    for (let c = start; c < end; c++) {
      let z = p.beta[c - 1]
      for (let j = 0; j < Hd; j++) z += state[j] * p.U[(c - 1) * Hd + j]
      logits[c - start] = z
    }
    const probs = softmax(logits)
    clusterLoss -= Math.log(Math.max(probs[node - start], 1e-30))
    const dState = new Float64Array(Hd)
    for (let c = start; c < end; c++) {
      const dz = probs[c - start] - (c === node ? 1 : 0)
      grads.beta[c - 1] += dz
      const base = (c - 1) * Hd
      for (let j = 0; j < Hd; j++) {
        grads.U[base + j] += dz * state[j]
        dState[j] += dz * p.U[base + j]
      }
    }
    for (let j = 0; j < Hd; j++) {
      const da = dState[j] * (1 - state[j] * state[j])
      grads.P[row * Hd + j] += da
      dg[j] += da
    }
  }
  for (let j = 0; j < Hd; j++) grads.bd[j] += dg[j]
  for (let i = 0; i < H; i++) {
    let s = 0
    for (let j = 0; j < Hd; j++) {
      grads.Wd[i * Hd + j] += h[i] * dg[j]
      s += p.Wd[i * Hd + j] * dg[j]
    }
    dh[i] += s
  }

  // Intra-cluster: InfoNCE of cos(q, d)/τ, positive first.
  const u = affine(h, p.Wq, p.bq)
  let norm = 0
  for (let j = 0; j < D; j++) norm += u[j] * u[j]
  norm = Math.sqrt(norm) || 1e-12
  const qn = new Float64Array(D)
  for (let j = 0; j < D; j++) qn[j] = u[j] / norm
  const tau = options.temperature
  const scores = new Float64Array(candidates.length)
  candidates.forEach((doc, c) => {
    let s = 0
    for (let j = 0; j < D; j++) s += qn[j] * data.docVectors[doc * D + j]
    scores[c] = s / tau
  })
  const probs = softmax(scores)
  const w = options.denseWeight
  const denseLoss = -Math.log(Math.max(probs[0], 1e-30))
  const dqn = new Float64Array(D)
  candidates.forEach((doc, c) => {
    const ds = (w * (probs[c] - (c === 0 ? 1 : 0))) / tau
    for (let j = 0; j < D; j++) dqn[j] += ds * data.docVectors[doc * D + j]
  })
  let qDotDq = 0
  for (let j = 0; j < D; j++) qDotDq += qn[j] * dqn[j]
  const du = new Float64Array(D)
  for (let j = 0; j < D; j++) du[j] = (dqn[j] - qn[j] * qDotDq) / norm
  for (let j = 0; j < D; j++) grads.bq[j] += du[j]
  for (let i = 0; i < H; i++) {
    let s = 0
    for (let j = 0; j < D; j++) {
      grads.Wq[i * D + j] += h[i] * du[j]
      s += p.Wq[i * D + j] * du[j]
    }
    dh[i] += s
  }

  // The bag: ∂h/∂E[f] = w_f.
  const { ids, values } = example.features
  for (let k = 0; k < ids.length; k++) {
    let row = grads.E.get(ids[k])
    if (!row) grads.E.set(ids[k], (row = new Float32Array(H)))
    for (let i = 0; i < H; i++) row[i] += values[k] * dh[i]
  }
  return { cluster: clusterLoss, dense: w * denseLoss }
}

function softmax(logits: Float64Array): Float64Array {
  let max = -Infinity
  for (const z of logits) max = Math.max(max, z)
  const out = new Float64Array(logits.length)
  let sum = 0
  for (let i = 0; i < logits.length; i++) sum += out[i] = Math.exp(logits[i] - max)
  for (let i = 0; i < out.length; i++) out[i] /= sum
  return out
}

/** Row of every internal node in P (−1 for leaves). */
export function rowOfNodes(tree: ClusterTree): Int32Array {
  const rows = new Int32Array(tree.size).fill(-1)
  internalNodes(tree).forEach((node, row) => (rows[node] = row))
  return rows
}

/** Positive first, then up to `count` other documents of its leaf, then the batch's other positives. */
export function candidatesFor(example: TrainingExample, batch: TrainingExample[], data: TrainingData, count: number, rng: Rng): number[] {
  const candidates = [example.doc]
  const seen = new Set(candidates)
  const leafDocs = data.members.get(data.leafOf[example.doc]) ?? []
  for (let tries = 0; candidates.length <= count && tries < count * 3 && leafDocs.length > 1; tries++) {
    const doc = leafDocs[randomInt(rng, leafDocs.length)]
    if (!seen.has(doc)) candidates.push(doc), seen.add(doc)
  }
  for (const other of batch) if (!seen.has(other.doc)) candidates.push(other.doc), seen.add(other.doc)
  return candidates
}

class Adam {
  private m = new Map<string, Float32Array>()
  private v = new Map<string, Float32Array>()
  private t = 0
  private readonly eRowsM = new Map<number, Float32Array>()
  private readonly eRowsV = new Map<number, Float32Array>()
  private readonly eRowStep = new Map<number, number>()
  constructor(private readonly options: TrainingOptions) {}

  step(p: QueryModelParams, grads: Gradients, scale: number): void {
    this.t++
    for (const name of ['Wq', 'bq', 'Wd', 'bd', 'P', 'U', 'beta'] as const) {
      this.update(name, p[name], grads[name], scale, this.options.learningRate)
    }
    const H = p.hidden
    const { embeddingLearningRate: lr } = this.options
    for (const [row, grad] of grads.E) {
      let m = this.eRowsM.get(row)
      let v = this.eRowsV.get(row)
      if (!m || !v) {
        this.eRowsM.set(row, (m = new Float32Array(H)))
        this.eRowsV.set(row, (v = new Float32Array(H)))
      }
      // Lazy Adam: bias correction by the row's own step count.
      const t = (this.eRowStep.get(row) ?? 0) + 1
      this.eRowStep.set(row, t)
      const c1 = 1 - 0.9 ** t
      const c2 = 1 - 0.999 ** t
      for (let i = 0; i < H; i++) {
        const gi = grad[i] * scale
        m[i] = 0.9 * m[i] + 0.1 * gi
        v[i] = 0.999 * v[i] + 0.001 * gi * gi
        p.E[row * H + i] -= (lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + 1e-8)
      }
    }
  }

  private update(name: string, param: Float32Array, grad: Float32Array, scale: number, lr: number): void {
    let m = this.m.get(name)
    let v = this.v.get(name)
    if (!m || !v) {
      this.m.set(name, (m = new Float32Array(param.length)))
      this.v.set(name, (v = new Float32Array(param.length)))
    }
    const c1 = 1 - 0.9 ** this.t
    const c2 = 1 - 0.999 ** this.t
    for (let i = 0; i < param.length; i++) {
      const gi = grad[i] * scale
      if (gi === 0 && m[i] === 0) continue
      m[i] = 0.9 * m[i] + 0.1 * gi
      v[i] = 0.999 * v[i] + 0.001 * gi * gi
      param[i] -= (lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + 1e-8)
    }
  }
}

export interface EpochReport {
  epoch: number
  clusterLoss: number
  denseLoss: number
  examples: number
}

export function train(p: QueryModelParams, data: TrainingData, examples: TrainingExample[], options: TrainingOptions, rng: Rng, onBatch?: (done: number, total: number) => void, onEpoch?: (report: EpochReport) => void): void {
  const adam = new Adam(options)
  const rowOfNode = rowOfNodes(data.tree)
  const order = examples.map((_, i) => i)
  const epochs = epochsFor(options, examples.length)
  const total = epochs * examples.length
  let done = 0
  for (let epoch = 1; epoch <= epochs; epoch++) {
    shuffle(order, rng)
    let clusterLoss = 0
    let denseLoss = 0
    for (let start = 0; start < order.length; start += options.batchSize) {
      const batch = order.slice(start, start + options.batchSize).map((i) => examples[i])
      const grads = zeroGradients(p)
      for (const example of batch) {
        const candidates = candidatesFor(example, batch, data, options.clusterNegatives, rng)
        const loss = accumulateExample(p, data, rowOfNode, example, candidates, options, grads)
        clusterLoss += loss.cluster
        denseLoss += loss.dense
      }
      adam.step(p, grads, 1 / batch.length)
      done += batch.length
      onBatch?.(done, total)
    }
    onEpoch?.({ epoch, clusterLoss: clusterLoss / examples.length, denseLoss: denseLoss / examples.length, examples: examples.length })
  }
}
