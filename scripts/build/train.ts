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
import type { QueryModelParams } from '../../src/core/query-model.ts'
import { affine, embedBag, internalNodes, nodeDot, NORM_EPSILON } from '../../src/core/query-model.ts'
import { type Rng, randomInt, shuffle } from './random.ts'

export interface TrainingExample {
  features: SparseFeatures
  doc: number
  /**
   * Leaves where a full-corpus search finds this query's best documents (leaf → weight,
   * summing to 1): the routing the decoder should learn besides the positive's own leaf.
   */
  routeTo?: Map<number, number>
}

/** A training example that keeps its query's text: lexical scoring (the routing teacher, tuning α and β) reads it. */
export type TextExample = TrainingExample & { text: string }

/**
 * Examples by position: an array, or a build's pseudo-queries, which are
 * featurized when a batch takes them (query-examples.ts).
 */
export interface ExampleSet<T> {
  readonly length: number
  at(index: number): T | undefined
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
  /** Large corpora get fewer: at most this many examples are trained on in all (time budget). */
  maxExamples: number
  /** Share of the cluster-ID target given to the positive's leaf; the rest follows `routeTo`. */
  positiveShare: number
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
  maxExamples: 600_000,
  positiveShare: 0.25,
}

/**
 * The cluster-ID target as, for every internal node, the weight each child should get:
 * the positive's path carries `positiveShare`, the routed leaves the rest. A parent's
 * children's weights sum to the parent's own weight.
 */
export function routingTargets(tree: ClusterTree, positiveLeaf: number, routeTo: Map<number, number> | undefined, positiveShare: number): Map<number, number> {
  const weight = new Map<number, number>()
  const add = (leaf: number, w: number) => {
    for (let n = leaf; n > 0; n = tree.parent[n]) weight.set(n, (weight.get(n) ?? 0) + w)
  }
  const share = routeTo && routeTo.size > 0 ? positiveShare : 1
  add(positiveLeaf, share)
  if (share < 1) for (const [leaf, w] of routeTo!) add(leaf, (1 - share) * w)
  return weight
}

/** Epochs to run: as asked, or more when the corpus is too small to reach `minSteps`. */
export function epochsFor(options: TrainingOptions, examples: number): number {
  if (options.epochs === 0 || examples === 0) return 0
  const stepsPerEpoch = Math.ceil(examples / options.batchSize)
  return Math.max(options.epochs, Math.ceil(options.minSteps / stepsPerEpoch))
}

/** Examples trained on in all: the epochs' worth, within the `maxExamples` budget. */
export function trainingExamplesFor(options: TrainingOptions, examples: number): number {
  return Math.min(epochsFor(options, examples) * examples, options.maxExamples)
}

export interface TrainingData {
  tree: ClusterTree
  /** Frozen, unit-length document vectors (docs × dims). */
  docVectors: Float32Array
  leafOf: Int32Array
  members: Map<number, number[]>
}

/** Gradients of the trained parameters; the embedding table's are kept per touched row. */
export interface Gradients {
  E: Map<number, Float32Array>
  Ed: Map<number, Float32Array>
  Wq: Float32Array
  bq: Float32Array
  bd: Float32Array
  P: Float32Array
  U: Float32Array
  beta: Float32Array
  M: Float32Array
  gamma: Float32Array
}

export const DENSE_PARAMETERS = ['Wq', 'bq', 'bd', 'P', 'U', 'beta', 'M', 'gamma'] as const

export function zeroGradients(p: QueryModelParams): Gradients {
  return {
    E: new Map(),
    Ed: new Map(),
    Wq: new Float32Array(p.Wq.length),
    bq: new Float32Array(p.bq.length),
    bd: new Float32Array(p.bd.length),
    P: new Float32Array(p.P.length),
    U: new Float32Array(p.U.length),
    beta: new Float32Array(p.beta.length),
    M: new Float32Array(p.M.length),
    gamma: new Float32Array(1),
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
  const h = embedBag(p.E, H, example.features)
  const dh = new Float64Array(H)

  // The query vector and its unit direction q̂ = u / (|u| + ε), shared by both losses.
  const u = affine(h, p.Wq, p.bq)
  let norm = 0
  for (let j = 0; j < D; j++) norm += u[j] * u[j]
  norm = Math.sqrt(norm)
  const denom = norm + NORM_EPSILON
  const qn = new Float64Array(D)
  for (let j = 0; j < D; j++) qn[j] = u[j] / denom
  const dqn = new Float64Array(D)

  // Inter-cluster: cross-entropy of each level's token given the prefix, against the
  // positive's path and the routed leaves (soft targets, teacher-forced on their prefixes).
  const g = embedBag(p.Ed, Hd, example.features)
  for (let j = 0; j < Hd; j++) g[j] += p.bd[j]
  const dg = new Float64Array(Hd)
  const gamma = p.gamma[0]
  const targets = routingTargets(data.tree, data.leafOf[example.doc], example.routeTo, options.positiveShare)
  const parents = new Set<number>([0])
  for (const node of targets.keys()) if (data.tree.childStart[node] >= 0) parents.add(node)
  let clusterLoss = 0
  for (const parent of parents) {
    const mass = parent === 0 ? 1 : targets.get(parent)!
    const row = rowOfNode[parent]
    const state = new Float64Array(Hd)
    for (let j = 0; j < Hd; j++) state[j] = Math.tanh(g[j] + p.P[row * Hd + j])
    const start = data.tree.childStart[parent]
    const end = data.tree.childEnd[parent]
    const logits = new Float64Array(end - start)
    const sims = new Float64Array(end - start)
    for (let c = start; c < end; c++) {
      let z = p.beta[c - 1]
      for (let j = 0; j < Hd; j++) z += state[j] * p.U[(c - 1) * Hd + j]
      const sim = nodeDot(p.M, qn, c, D)
      sims[c - start] = sim
      logits[c - start] = z + gamma * sim
    }
    const probs = softmax(logits)
    const dState = new Float64Array(Hd)
    for (let c = start; c < end; c++) {
      const target = targets.get(c) ?? 0
      if (target > 0) clusterLoss -= target * Math.log(Math.max(probs[c - start], 1e-30))
      const dz = mass * probs[c - start] - target
      grads.beta[c - 1] += dz
      grads.gamma[0] += dz * sims[c - start]
      const base = (c - 1) * Hd
      for (let j = 0; j < Hd; j++) {
        grads.U[base + j] += dz * state[j]
        dState[j] += dz * p.U[base + j]
      }
      for (let j = 0; j < D; j++) {
        dqn[j] += dz * gamma * p.M[(c - 1) * D + j]
        grads.M[(c - 1) * D + j] += dz * gamma * qn[j]
      }
    }
    for (let j = 0; j < Hd; j++) {
      const da = dState[j] * (1 - state[j] * state[j])
      grads.P[row * Hd + j] += da
      dg[j] += da
    }
  }
  for (let j = 0; j < Hd; j++) grads.bd[j] += dg[j]

  // Intra-cluster: InfoNCE of q̂·d/τ, positive first.
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
  candidates.forEach((doc, c) => {
    const ds = (w * (probs[c] - (c === 0 ? 1 : 0))) / tau
    for (let j = 0; j < D; j++) dqn[j] += ds * data.docVectors[doc * D + j]
  })

  // Through the normalization: ∂q̂_j/∂u_k = δ_jk/(n+ε) − u_j·u_k / (n·(n+ε)²).
  let uDotDq = 0
  for (let j = 0; j < D; j++) uDotDq += u[j] * dqn[j]
  const du = new Float64Array(D)
  const radial = norm > 0 ? uDotDq / (norm * denom * denom) : 0
  for (let j = 0; j < D; j++) du[j] = dqn[j] / denom - u[j] * radial
  for (let j = 0; j < D; j++) grads.bq[j] += du[j]
  for (let i = 0; i < H; i++) {
    let s = 0
    for (let j = 0; j < D; j++) {
      grads.Wq[i * D + j] += h[i] * du[j]
      s += p.Wq[i * D + j] * du[j]
    }
    dh[i] += s
  }

  // The bags: ∂h/∂E[f] = ∂g/∂Ed[f] = w_f.
  addToRows(grads.E, example.features, dh)
  addToRows(grads.Ed, example.features, dg)
  return { cluster: clusterLoss, dense: w * denseLoss }
}

function addToRows(rows: Map<number, Float32Array>, features: TrainingExample['features'], grad: Float64Array): void {
  for (let k = 0; k < features.ids.length; k++) {
    let row = rows.get(features.ids[k])
    if (!row) rows.set(features.ids[k], (row = new Float32Array(grad.length)))
    for (let i = 0; i < grad.length; i++) row[i] += features.values[k] * grad[i]
  }
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

/** Lazy Adam over the rows of an embedding table: only rows a batch touched move. */
export class RowAdam {
  private readonly m = new Map<number, Float32Array>()
  private readonly v = new Map<number, Float32Array>()
  private readonly steps = new Map<number, number>()
  constructor(
    private readonly width: number,
    private readonly learningRate: number,
  ) {}

  step(table: Float32Array, grads: Map<number, Float32Array>, scale: number): void {
    const W = this.width
    const lr = this.learningRate
    for (const [row, grad] of grads) {
      let m = this.m.get(row)
      let v = this.v.get(row)
      if (!m || !v) {
        this.m.set(row, (m = new Float32Array(W)))
        this.v.set(row, (v = new Float32Array(W)))
      }
      // Bias correction by the row's own step count.
      const t = (this.steps.get(row) ?? 0) + 1
      this.steps.set(row, t)
      const c1 = 1 - 0.9 ** t
      const c2 = 1 - 0.999 ** t
      for (let i = 0; i < W; i++) {
        const gi = grad[i] * scale
        m[i] = 0.9 * m[i] + 0.1 * gi
        v[i] = 0.999 * v[i] + 0.001 * gi * gi
        table[row * W + i] -= (lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + 1e-8)
      }
    }
  }
}

class Adam {
  private m = new Map<string, Float32Array>()
  private v = new Map<string, Float32Array>()
  private t = 0
  private readonly queryRows: RowAdam
  private readonly decoderRows: RowAdam
  constructor(
    private readonly options: TrainingOptions,
    p: QueryModelParams,
  ) {
    this.queryRows = new RowAdam(p.hidden, options.embeddingLearningRate)
    this.decoderRows = new RowAdam(p.decoderHidden, options.learningRate)
  }

  step(p: QueryModelParams, grads: Gradients, scale: number): void {
    this.t++
    for (const name of DENSE_PARAMETERS) {
      this.update(name, p[name], grads[name], scale, this.options.learningRate)
    }
    this.queryRows.step(p.E, grads.E, scale)
    this.decoderRows.step(p.Ed, grads.Ed, scale)
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

export function train(p: QueryModelParams, data: TrainingData, examples: ExampleSet<TrainingExample>, options: TrainingOptions, rng: Rng, onBatch?: (done: number, total: number) => void, onEpoch?: (report: EpochReport) => void): void {
  const adam = new Adam(options, p)
  const rowOfNode = rowOfNodes(data.tree)
  const order = Array.from({ length: examples.length }, (_, i) => i)
  const total = trainingExamplesFor(options, examples.length)
  let done = 0
  for (let epoch = 1; done < total; epoch++) {
    shuffle(order, rng)
    let clusterLoss = 0
    let denseLoss = 0
    // The last epoch may stop early: the budget counts examples, not epochs.
    const thisEpoch = Math.min(order.length, total - done)
    for (let start = 0; start < thisEpoch; start += options.batchSize) {
      const batch = order.slice(start, Math.min(start + options.batchSize, thisEpoch)).map((i) => examples.at(i)!)
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
    onEpoch?.({ epoch, clusterLoss: clusterLoss / thisEpoch, denseLoss: denseLoss / thisEpoch, examples: thisEpoch })
  }
}
