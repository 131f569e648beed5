// The exported query model (model.onnx, int8) run by gdr's own code: the graph
// exportOnnx writes (query-model-graph.ts), node for node, on typed arrays, with the centroid prior's
// int8 rows scored by the dense kernel. The Worker and Node (eval, bench) run
// queries through it; onnxruntime-web runs the same file in the tests and at
// build time, which hold the two to the same outputs (test/unit/onnx-parity.test.ts).
//
// Why not onnxruntime-web at query time: in workerd its first run in a request
// took 0.28–0.50 ms against 0.135–0.157 ms here (npm 186K, featurize included,
// 600 requests each, alternating), and its 14 MB WebAssembly took ~130 ms of a
// cold isolate's ~250 ms to start and 33 MB of the isolate's memory.

import type { SparseFeatures } from './featurizer.ts'
import type { DenseKernel, ResidentRows } from './dense-kernel.ts'
import { fromHalfBits, HALF_SCALE_UNIT } from './quant.ts'
import { MODEL_IO } from './query-model.ts'
import { MODEL_GRAPH, nodeSignature } from './query-model-graph.ts'
import { ONNX_TYPE, readOnnxGraph, type OnnxGraph, type OnnxTensor } from './onnx-file.ts'
import type { Manifest } from './manifest.ts'

/** A model file this runtime cannot run, and why. */
export class ModelFileError extends Error {
  override name = 'ModelFileError'
}

/** One query's outputs: the unnormalized query vector (dims) and one logit per non-root tree node. */
export interface QueryModelOutputs {
  query: Float32Array
  logits: Float32Array
}

export class QueryModelRuntime {
  readonly buckets: number
  readonly hidden: number
  readonly dims: number
  readonly decoderHidden: number
  /** Logits per query: the tree's nodes but the root. */
  readonly nodes: number
  private readonly E: Int8Array
  /** E's per-row scales × HALF_SCALE_UNIT (a power of two: exact). */
  private readonly eScale: Float32Array
  private readonly Ed: Int8Array
  private readonly edScale: Float32Array
  private readonly Wq: Float32Array
  private readonly bq: Float32Array
  private readonly bd: Float32Array
  private readonly P: Float32Array
  private readonly U: Float32Array
  private readonly beta: Float32Array
  private readonly epsilon: number
  private readonly parentRows: Int32Array
  /** γ·M as int8 rows with their scales, in the dense kernel. */
  private readonly M: ResidentRows
  // Working arrays, reused: run() is synchronous.
  private readonly h: Float32Array
  private readonly g: Float32Array
  private readonly states: Float32Array
  private readonly prior: Float64Array

  /** Reads model.onnx; throws ModelFileError when it is not the graph exportOnnx writes. */
  constructor(file: Uint8Array, kernel: DenseKernel) {
    let graph: OnnxGraph
    try {
      graph = readOnnxGraph(file)
    } catch (error) {
      throw new ModelFileError(`not an ONNX model: ${(error as Error).message}`)
    }
    // Every node, its wiring and its attributes, as the exporter writes them: any other graph is refused, not misread.
    const ops = graph.nodes.map((n) => n.opType)
    if (ops.join() !== MODEL_GRAPH.map((n) => n.opType).join()) throw new ModelFileError(`not the query model's graph (ops ${ops.join(', ')})`)
    graph.nodes.forEach((node, i) => {
      const [found, expected] = [nodeSignature(node), nodeSignature(MODEL_GRAPH[i])]
      if (node.others.length > 0 || found !== expected) throw new ModelFileError(`node ${i} is ${found}${node.others.length ? ` (and ${node.others.join(', ')})` : ''}, not ${expected}`)
    })
    const io = (names: string[], expected: string[], what: string) => {
      if (names.join() !== expected.join()) throw new ModelFileError(`graph ${what} are ${names.join(', ') || 'none'}, not ${expected.join(', ')}`)
    }
    io(graph.inputs, [MODEL_IO.ids, MODEL_IO.weights], 'inputs')
    io(graph.outputs, [MODEL_IO.query, MODEL_IO.logits], 'outputs')
    const take = (name: string, dataType: number, rank: number): OnnxTensor => {
      const t = graph.initializers.get(name)
      if (!t) throw new ModelFileError(`no initializer ${name}`)
      if (t.dataType !== dataType || t.dims.length !== rank) throw new ModelFileError(`initializer ${name} is type ${t.dataType} of rank ${t.dims.length}, not type ${dataType} of rank ${rank}`)
      if (!t.dims.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new ModelFileError(`initializer ${name} has dims [${t.dims.join(', ')}]`)
      const width = { [ONNX_TYPE.float]: 4, [ONNX_TYPE.int8]: 1, [ONNX_TYPE.int32]: 4, [ONNX_TYPE.float16]: 2 }[dataType] ?? 0
      const count = t.dims.reduce((a, b) => a * b, 1)
      if (t.raw.byteLength !== count * width) throw new ModelFileError(`initializer ${name} holds ${t.raw.byteLength} bytes, not ${count * width} for [${t.dims.join(', ')}]`)
      return t
    }
    // Copied: typed views need aligned offsets, which the file's do not promise.
    const floats = (name: string, rank: number) => new Float32Array(copyOf(take(name, ONNX_TYPE.float, rank).raw))
    const int8s = (name: string) => {
      const { raw, dims } = take(name, ONNX_TYPE.int8, 2)
      return { values: new Int8Array(raw.buffer, raw.byteOffset, raw.byteLength), rows: dims[0], cols: dims[1] }
    }
    const halfScales = (name: string, rows: number) => {
      const t = take(name, ONNX_TYPE.float16, 1)
      if (t.dims[0] !== rows) throw new ModelFileError(`initializer ${name} has ${t.dims[0]} scales for ${rows} rows`)
      const bits = new Uint16Array(copyOf(t.raw))
      return Float32Array.from(bits, (b) => fromHalfBits(b) * HALF_SCALE_UNIT)
    }
    const E = int8s('E_q')
    const Ed = int8s('Ed_q')
    const M = int8s('M_q')
    this.buckets = E.rows
    this.hidden = E.cols
    this.dims = M.cols
    this.decoderHidden = Ed.cols
    this.nodes = M.rows
    this.E = E.values
    this.eScale = halfScales('E_scale', E.rows)
    this.Ed = Ed.values
    this.edScale = halfScales('Ed_scale', Ed.rows)
    this.Wq = floats('Wq', 2)
    this.bq = floats('bq', 1)
    this.bd = floats('bd', 1)
    this.P = floats('P', 2)
    this.U = floats('U', 2)
    this.beta = floats('beta', 1)
    this.epsilon = floats('epsilon', 1)[0]
    this.parentRows = new Int32Array(copyOf(take('parent_rows', ONNX_TYPE.int32, 1).raw))
    const mScale = floats('M_scale', 1)
    const mZero = take('M_zero', ONNX_TYPE.int8, 1)
    if (mZero.dims[0] !== M.rows || mZero.raw.some((b) => b !== 0)) throw new ModelFileError('M_zero is not all zeros for every row of M_q')
    const internal = (graph.initializers.get('P')?.dims ?? [])[0]
    const shapes: [string, number[], number[]][] = [
      ['Ed_q', graph.initializers.get('Ed_q')!.dims, [this.buckets, this.decoderHidden]],
      ['Wq', graph.initializers.get('Wq')!.dims, [this.hidden, this.dims]],
      ['bq', [this.bq.length], [this.dims]],
      ['bd', [this.bd.length], [this.decoderHidden]],
      ['P', graph.initializers.get('P')!.dims, [internal, this.decoderHidden]],
      ['U', graph.initializers.get('U')!.dims, [this.nodes, this.decoderHidden]],
      ['beta', [this.beta.length], [this.nodes]],
      ['parent_rows', [this.parentRows.length], [this.nodes]],
      ['M_scale', [mScale.length], [this.nodes]],
      ['epsilon', [graph.initializers.get('epsilon')!.dims.reduce((a, b) => a * b, 1)], [1]],
    ]
    for (const [what, found, expected] of shapes) if (found.join() !== expected.join()) throw new ModelFileError(`${what} is [${found.join(', ')}], not [${expected.join(', ')}]`)
    if (this.parentRows.some((r) => !(r >= 0 && r < internal))) throw new ModelFileError('parent_rows names a state the graph does not have')
    if (!(this.epsilon > 0 && Number.isFinite(this.epsilon))) throw new ModelFileError(`epsilon is ${this.epsilon}, not a positive number`)
    for (const [what, values] of [['E_scale', this.eScale], ['Ed_scale', this.edScale], ['M_scale', mScale], ['Wq', this.Wq], ['bq', this.bq], ['bd', this.bd], ['P', this.P], ['U', this.U], ['beta', this.beta]] as const) {
      if (!values.every(Number.isFinite)) throw new ModelFileError(`${what} holds a value that is not finite`)
    }
    this.M = kernel.resident(M.values, mScale, this.dims)
    this.h = new Float32Array(this.hidden)
    this.g = new Float32Array(this.decoderHidden)
    this.states = new Float32Array(this.P.length)
    this.prior = new Float64Array(this.nodes)
  }

  /** The model's outputs for one query's features (fresh arrays; the caller keeps them). */
  run(features: SparseFeatures): QueryModelOutputs {
    if (features.values.length !== features.ids.length) throw new RangeError(`${features.ids.length} feature ids but ${features.values.length} weights`)
    this.bags(features)
    const query = this.queryVector()
    this.M.scoreAll(this.unitOf(query), this.prior)
    this.prefixStates()
    return { query, logits: this.logits() }
  }

  /** h and g: Σ_i w_i · scale[f_i] · table[f_i] over the query's features, for the encoder's table and the decoder's. */
  private bags(features: SparseFeatures): void {
    const { hidden: H, decoderHidden: Hd, buckets, h, g, E, Ed, eScale, edScale } = this
    h.fill(0)
    g.fill(0)
    for (let i = 0; i < features.ids.length; i++) {
      const id = features.ids[i]
      if (!(id >= 0 && id < buckets)) throw new RangeError(`feature bucket ${id} is outside the model's ${buckets}`)
      const w = features.values[i]
      const we = Math.fround(eScale[id] * w)
      for (let j = 0, at = id * H; j < H; j++) h[j] += we * E[at + j]
      const wd = Math.fround(edScale[id] * w)
      for (let j = 0, at = id * Hd; j < Hd; j++) g[j] += wd * Ed[at + j]
    }
  }

  /** q = h·Wq + bq. */
  private queryVector(): Float32Array {
    const { hidden: H, dims: D, h, Wq } = this
    const query = this.bq.slice()
    for (let i = 0; i < H; i++) {
      const x = h[i]
      if (x === 0) continue
      for (let j = 0, at = i * D; j < D; j++) query[j] += x * Wq[at + j]
    }
    return query
  }

  /** q / (|q| + ε): the graph's unit query, for the prior (search normalizes `query` again for scoring, without ε). */
  private unitOf(query: Float32Array): Float32Array {
    let norm = 0
    for (let j = 0; j < query.length; j++) norm += query[j] * query[j]
    const by = Math.fround(Math.fround(Math.sqrt(norm)) + this.epsilon)
    const unit = new Float32Array(query.length)
    for (let j = 0; j < query.length; j++) unit[j] = query[j] / by
    return unit
  }

  /** tanh(g + bd + P_n) for every internal node n. */
  private prefixStates(): void {
    const { decoderHidden: Hd, g, bd, states, P } = this
    for (let j = 0; j < Hd; j++) g[j] += bd[j]
    for (let at = 0; at < states.length; at += Hd) for (let j = 0; j < Hd; j++) states[at + j] = Math.tanh(g[j] + P[at + j])
  }

  /** Each non-root node's parent state · U_c + (γ·q̂·M_c + β_c). */
  private logits(): Float32Array {
    const { decoderHidden: Hd, states, U, beta, parentRows, prior } = this
    const logits = new Float32Array(this.nodes)
    for (let c = 0; c < logits.length; c++) {
      let dot = 0
      for (let j = 0, s = parentRows[c] * Hd, u = c * Hd; j < Hd; j++) dot += states[s + j] * U[u + j]
      logits[c] = Math.fround(dot) + Math.fround(prior[c] + beta[c])
    }
    return logits
  }
}

/** The bytes in a buffer of their own (a Node Buffer's slice() would share its pool's). */
function copyOf(bytes: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(bytes.byteLength)
  copy.set(bytes)
  return copy.buffer
}

/**
 * Why a model cannot serve an index (its manifest's dims, tree and featurizer), or undefined when it can. Checked when an
 * index loads, so a model of another build fails the load with this reason
 * instead of every query.
 */
export function modelMismatch(model: Pick<QueryModelRuntime, 'dims' | 'nodes' | 'buckets'>, index: Pick<Manifest, 'dims' | 'tree' | 'featurizer'>): string | undefined {
  const found: [string, number, number][] = [
    ['query vectors', model.dims, index.dims],
    ['logits', model.nodes, index.tree.parent.length - 1],
    ['feature buckets', model.buckets, index.featurizer.buckets],
  ]
  const wrong = found.filter(([, has, wants]) => has !== wants)
  return wrong.length === 0 ? undefined : wrong.map(([what, has, wants]) => `${what}: ${has}, not ${wants}`).join('; ')
}
