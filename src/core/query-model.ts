// The query model that runs in the Worker, as a reference forward pass in
// TypeScript. The trainer differentiates it, the ONNX exporter writes the same
// graph, and a parity test holds the two together.
//
//   h  = Σ_i w_i · E[f_i]                      bag of hashed n-gram embeddings  (H)
//   q  = h·Wq + bq                             query vector, in document space (D)
//   g  = Σ_i w_i · Ed[f_i] + bd                decoder input, its own memory    (Hd)
//   S_n = tanh(g + P_n)                        prefix state of internal node n  (Hd)
//   q̂  = q / (|q| + ε)
//   logit_c = S_parent(c) · U_c + β_c + γ · q̂·M_c   for every non-root tree node c
//
// The decoder is prefix-aware: the distribution over a node's children depends on
// the prefix through S_n. Because the tree's size is fixed by a memory budget, all
// prefix states are computed in one pass and beam search walks them in TypeScript.
// M_c starts as the centroid of node c's documents, so γ·q̂·M_c starts as the
// nearest-centroid prior, and training moves it with the memory terms (P, U, β).
// C_c stays that centroid (frozen): routing uses q̂·C_c as a leaf's dense estimate,
// which the trained M no longer is (npm 186K: exact top-10 coverage at 11 leaves
// 0.71 with q̂·M, 0.80 with q̂·C). C is not part of the exported graph: the leaves'
// rows are index data (src/core/centroids.ts), compared with the query by the dense kernel.

import type { ClusterTree } from './tree.ts'
import type { SparseFeatures } from './featurizer.ts'
import type { QuantizedRows } from './quant.ts'
import { dequantizeColumns, dequantizeRows, quantizeColumns, quantizeRows, quantizeRowsHalfScales, ScaleOverflowError } from './quant.ts'

/** Names of the ONNX graph's inputs and outputs, shared by the exporter and the Worker. */
export const MODEL_IO = { ids: 'ids', weights: 'wts', query: 'query', logits: 'logits' } as const

export interface QueryModelShape {
  buckets: number
  hidden: number
  dims: number
  decoderHidden: number
}

export interface QueryModelParams extends QueryModelShape {
  /** buckets × hidden */
  E: Float32Array
  /** hidden × dims, bq: dims */
  Wq: Float32Array
  bq: Float32Array
  /** buckets × decoderHidden: the decoder's own n-gram memory; bd: decoderHidden */
  Ed: Float32Array
  bd: Float32Array
  /** internal nodes × decoderHidden, in the order of `internalNodes(tree)` */
  P: Float32Array
  /** (tree.size − 1) × decoderHidden, row c−1 for node c; beta: tree.size − 1 */
  U: Float32Array
  beta: Float32Array
  /** (tree.size − 1) × dims, row c−1 for node c: starts as C, trained. */
  M: Float32Array
  /** (tree.size − 1) × dims: unit centroid of node c's documents (row c−1); not trained, not exported (the build writes the leaves' as the index's leaf centroids). */
  C: Float32Array
  /** [γ]: weight of the centroid prior. */
  gamma: Float32Array
}

/** What the exported graph computes with: every parameter but the frozen centroids C. */
export type QueryModelWeights = Omit<QueryModelParams, 'C'>

/** Keeps q̂ finite for a query whose vector is zero. */
export const NORM_EPSILON = 1e-6

export interface QueryModelOutput {
  hidden: Float32Array
  /** Unnormalized query vector (dims). */
  query: Float32Array
  /** One logit per non-root node (tree.size − 1). */
  logits: Float32Array
}

/** Internal nodes in breadth-first order: row r of P belongs to internalNodes[r]. */
export function internalNodes(tree: ClusterTree): Int32Array {
  const nodes: number[] = []
  for (let n = 0; n < tree.size; n++) if (tree.childStart[n] >= 0) nodes.push(n)
  return Int32Array.from(nodes)
}

/** For every non-root node c (index c − 1): the row of its parent in P. */
export function parentRows(tree: ClusterTree): Int32Array {
  const rowOf = new Int32Array(tree.size).fill(-1)
  internalNodes(tree).forEach((node, row) => (rowOf[node] = row))
  const rows = new Int32Array(tree.size - 1)
  for (let c = 1; c < tree.size; c++) rows[c - 1] = rowOf[tree.parent[c]]
  return rows
}

/** Σ_i w_i · table[f_i] for a table with `width` columns. */
export function embedBag(table: Float32Array, width: number, features: SparseFeatures): Float32Array {
  const bag = new Float32Array(width)
  for (let i = 0; i < features.ids.length; i++) {
    const w = features.values[i]
    const base = features.ids[i] * width
    for (let j = 0; j < width; j++) bag[j] += w * table[base + j]
  }
  return bag
}

/** out = x·W + b, for W of shape x.length × b.length (row-major). */
export function affine(x: Float32Array, W: Float32Array, b: Float32Array): Float32Array {
  const cols = b.length
  const out = Float32Array.from(b)
  for (let i = 0; i < x.length; i++) {
    const xi = x[i]
    if (xi === 0) continue
    const base = i * cols
    for (let j = 0; j < cols; j++) out[j] += xi * W[base + j]
  }
  return out
}

/** tanh(g + P_row) for one internal node. */
export function prefixState(params: QueryModelWeights, g: Float32Array, row: number): Float32Array {
  const Hd = params.decoderHidden
  const s = new Float32Array(Hd)
  for (let j = 0; j < Hd; j++) s[j] = Math.tanh(g[j] + params.P[row * Hd + j])
  return s
}

export function childLogit(params: QueryModelWeights, state: Float32Array, node: number): number {
  const Hd = params.decoderHidden
  let sum = params.beta[node - 1]
  const base = (node - 1) * Hd
  for (let j = 0; j < Hd; j++) sum += state[j] * params.U[base + j]
  return sum
}

/** v · (row c − 1 of a (tree.size − 1) × dims node matrix such as M or C). */
export function nodeDot(matrix: Float32Array, v: ArrayLike<number>, node: number, dims: number): number {
  let dot = 0
  for (let j = 0; j < dims; j++) dot += v[j] * matrix[(node - 1) * dims + j]
  return dot
}

/** γ · q̂·M_c: the (trained) centroid prior of node c. */
export function centroidPrior(params: QueryModelWeights, unitQuery: ArrayLike<number>, node: number): number {
  return params.gamma[0] * nodeDot(params.M, unitQuery, node, params.dims)
}

export function unitVector(v: Float32Array): Float32Array {
  let norm = 0
  for (let j = 0; j < v.length; j++) norm += v[j] * v[j]
  norm = Math.sqrt(norm) + NORM_EPSILON
  return v.map((x) => x / norm)
}

export function forward(params: QueryModelWeights, tree: ClusterTree, features: SparseFeatures): QueryModelOutput {
  const hidden = embedBag(params.E, params.hidden, features)
  const query = affine(hidden, params.Wq, params.bq)
  const unit = unitVector(query)
  const g = embedBag(params.Ed, params.decoderHidden, features)
  for (let j = 0; j < g.length; j++) g[j] += params.bd[j]
  const states = Array.from(internalNodes(tree), (_, row) => prefixState(params, g, row))
  const rows = parentRows(tree)
  const logits = new Float32Array(tree.size - 1)
  for (let c = 1; c < tree.size; c++) logits[c - 1] = childLogit(params, states[rows[c - 1]], c) + centroidPrior(params, unit, c)
  return { hidden, query, logits }
}

/** The model as exported: int8 matrices with float scales, float biases. */
export interface QuantizedQueryModel extends QueryModelShape {
  E: QuantizedRows // per row (bucket)
  Wq: QuantizedRows // per column (output unit)
  bq: Float32Array
  Ed: QuantizedRows // per row (bucket)
  bd: Float32Array
  P: QuantizedRows // per row (internal node)
  U: QuantizedRows // per row (node)
  beta: Float32Array
  M: QuantizedRows // per row (node)
  gamma: Float32Array
}

export function quantizeModel(p: QueryModelParams): QuantizedQueryModel {
  const { buckets, hidden, dims, decoderHidden } = p
  const rowsOf = (m: Float32Array, cols: number) => m.length / cols
  const named = <T>(matrix: string, quantize: () => T): T => {
    try {
      return quantize()
    } catch (error) {
      throw error instanceof ScaleOverflowError ? new ScaleOverflowError(error.row, error.maxAbs, matrix) : error
    }
  }
  return {
    buckets, hidden, dims, decoderHidden,
    E: named('E', () => quantizeRowsHalfScales(p.E, buckets, hidden)),
    Wq: named('Wq', () => quantizeColumns(p.Wq, hidden, dims)),
    bq: p.bq,
    Ed: named('Ed', () => quantizeRowsHalfScales(p.Ed, buckets, decoderHidden)),
    bd: p.bd,
    P: named('P', () => quantizeRows(p.P, rowsOf(p.P, decoderHidden), decoderHidden)),
    U: named('U', () => quantizeRows(p.U, rowsOf(p.U, decoderHidden), decoderHidden)),
    beta: p.beta,
    M: named('M', () => quantizeRows(p.M, rowsOf(p.M, dims), dims)),
    gamma: p.gamma,
  }
}

/** The exact float weights the int8 model computes with: the reference for parity. */
export function dequantizeModel(q: QuantizedQueryModel): QueryModelWeights {
  const { buckets, hidden, dims, decoderHidden } = q
  return {
    buckets, hidden, dims, decoderHidden,
    E: dequantizeRows(q.E),
    Wq: dequantizeColumns(q.Wq),
    bq: q.bq,
    Ed: dequantizeRows(q.Ed),
    bd: q.bd,
    P: dequantizeRows(q.P),
    U: dequantizeRows(q.U),
    beta: q.beta,
    M: dequantizeRows(q.M),
    gamma: q.gamma,
  }
}
