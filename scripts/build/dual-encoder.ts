// Document vectors trained on the corpus itself: a siamese dual encoder over the
// hashed n-gram features (one embedding table for queries and documents),
// starting from the LSA fold-in and trained with in-batch InfoNCE on
// pseudo-query → document pairs. Hand-derived gradients, checked by finite
// differences in test/unit/dual-encoder.test.ts.

import type { SparseFeatures } from '../../src/core/featurizer.ts'
import { embedBag } from '../../src/core/query-model.ts'
import { type Rng, shuffle } from './random.ts'
import { RowAdam, type ExampleSet } from './train.ts'

export interface DualEncoderOptions {
  epochs: number
  batchSize: number
  learningRate: number
  temperature: number
  /** Time budget: at most this many pseudo-queries in all. */
  maxExamples: number
}

export const DEFAULT_DUAL_ENCODER: DualEncoderOptions = { epochs: 2, batchSize: 64, learningRate: 2e-4, temperature: 0.05, maxExamples: 300_000 }

/** A pseudo-query's features and its document (a TrainingExample is one). */
export interface Pair {
  features: SparseFeatures
  doc: number
}

interface Encoded {
  unit: Float64Array
  norm: number
}

function encode(E: Float32Array, dims: number, features: SparseFeatures): Encoded {
  const u = embedBag(E, dims, features)
  let norm = 0
  for (let j = 0; j < dims; j++) norm += u[j] * u[j]
  norm = Math.sqrt(norm) || 1e-12
  return { unit: Float64Array.from(u, (x) => x / norm), norm }
}

/**
 * Adds the gradient of one batch's mean InfoNCE loss to `grads` (per touched row) and
 * returns the loss. Query i's positive is its own document; the batch's other
 * documents are negatives, except copies of the same document, which are masked.
 */
export function accumulateBatch(E: Float32Array, dims: number, docs: SparseFeatures[], batch: Pair[], temperature: number, grads: Map<number, Float32Array>): number {
  const B = batch.length
  const queries = batch.map((p) => encode(E, dims, p.features))
  const docVecs = batch.map((p) => encode(E, dims, docs[p.doc]))
  const dq = queries.map(() => new Float64Array(dims))
  const dd = docVecs.map(() => new Float64Array(dims))
  let loss = 0
  for (let i = 0; i < B; i++) {
    const logits = new Float64Array(B)
    let max = -Infinity
    for (let j = 0; j < B; j++) {
      if (j !== i && batch[j].doc === batch[i].doc) {
        logits[j] = -Infinity
        continue
      }
      let s = 0
      for (let k = 0; k < dims; k++) s += queries[i].unit[k] * docVecs[j].unit[k]
      logits[j] = s / temperature
      max = Math.max(max, logits[j])
    }
    let sum = 0
    for (let j = 0; j < B; j++) sum += Math.exp(logits[j] - max)
    loss += (max + Math.log(sum) - logits[i]) / B
    for (let j = 0; j < B; j++) {
      if (logits[j] === -Infinity) continue
      const g = (Math.exp(logits[j] - max) / sum - (j === i ? 1 : 0)) / (B * temperature)
      for (let k = 0; k < dims; k++) {
        dq[i][k] += g * docVecs[j].unit[k]
        dd[j][k] += g * queries[i].unit[k]
      }
    }
  }
  batch.forEach((pair, i) => addThroughNorm(queries[i], dq[i], pair.features, dims, grads))
  batch.forEach((pair, j) => addThroughNorm(docVecs[j], dd[j], docs[pair.doc], dims, grads))
  return loss
}

// ∂(u/|u|)/∂u applied to the upstream gradient, then ∂u/∂E[f] = w_f.
function addThroughNorm(encoded: Encoded, dUnit: Float64Array, features: SparseFeatures, dims: number, grads: Map<number, Float32Array>): void {
  let radial = 0
  for (let k = 0; k < dims; k++) radial += encoded.unit[k] * dUnit[k]
  const du = new Float64Array(dims)
  for (let k = 0; k < dims; k++) du[k] = (dUnit[k] - encoded.unit[k] * radial) / encoded.norm
  for (let f = 0; f < features.ids.length; f++) {
    let row = grads.get(features.ids[f])
    if (!row) grads.set(features.ids[f], (row = new Float32Array(dims)))
    for (let k = 0; k < dims; k++) row[k] += features.values[f] * du[k]
  }
}

export function trainDualEncoder(E: Float32Array, dims: number, docs: SparseFeatures[], pairs: ExampleSet<Pair>, options: DualEncoderOptions, rng: Rng, onProgress?: (done: number, total: number) => void): number {
  const adam = new RowAdam(dims, options.learningRate)
  const total = Math.min(options.epochs * pairs.length, options.maxExamples)
  const order = Array.from({ length: pairs.length }, (_, i) => i)
  let done = 0
  let lastLoss = 0
  while (done < total) {
    shuffle(order, rng)
    const thisEpoch = Math.min(order.length, total - done)
    let loss = 0
    let batches = 0
    for (let start = 0; start + 1 < thisEpoch; start += options.batchSize) {
      const batch = order.slice(start, Math.min(start + options.batchSize, thisEpoch)).map((i) => pairs.at(i)!)
      const grads = new Map<number, Float32Array>()
      loss += accumulateBatch(E, dims, docs, batch, options.temperature, grads)
      batches++
      adam.step(E, grads, 1)
      onProgress?.(done + start + batch.length, total)
    }
    done += thisEpoch
    lastLoss = loss / Math.max(batches, 1)
  }
  return lastLoss
}

/** Unit document vectors from the trained table. */
export function documentVectors(E: Float32Array, dims: number, docs: SparseFeatures[]): Float32Array {
  const out = new Float32Array(docs.length * dims)
  docs.forEach((features, i) => out.set(Float32Array.from(encode(E, dims, features).unit), i * dims))
  return out
}
