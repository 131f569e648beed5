// Writes the quantized query model as an ONNX graph (opset 17) that computes
// exactly `forward()` of src/core/query-model.ts on the dequantized weights.
// Int8 weights stay int8 in the file and, for the large embedding table, in
// memory too: only the gathered rows are cast to float at run time.

import onnxProto from 'onnx-proto'
import type { ClusterTree } from '../../src/core/tree.ts'
import type { QuantizedQueryModel } from '../../src/core/query-model.ts'
import { MODEL_IO, NORM_EPSILON, parentRows } from '../../src/core/query-model.ts'
import { HALF_SCALE_UNIT, toHalfBits, type QuantizedRows } from '../../src/core/quant.ts'

const { onnx } = onnxProto
const T = onnx.TensorProto.DataType

export const OPSET = 17

type Tensor = InstanceType<typeof onnx.TensorProto>

function tensor(name: string, dataType: number, dims: number[], data: ArrayBufferView): Tensor {
  return onnx.TensorProto.create({
    name,
    dataType,
    dims,
    rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  })
}

const floats = (name: string, dims: number[], data: Float32Array) => tensor(name, T.FLOAT, dims, data)
/** Per-row scales as float16 of scale / HALF_SCALE_UNIT (exact: quantizeRowsHalfScales rounded them so). */
const halfScales = (name: string, scales: Float32Array) => tensor(name, T.FLOAT16, [scales.length], Uint16Array.from(scales, (s) => toHalfBits(s / HALF_SCALE_UNIT)))
const int8s = (name: string, dims: number[], data: Int8Array) => tensor(name, T.INT8, dims, data)
const int32s = (name: string, dims: number[], data: Int32Array) => tensor(name, T.INT32, dims, data)
const int64s = (name: string, values: number[]) => tensor(name, T.INT64, [values.length], BigInt64Array.from(values.map(BigInt)))

function node(opType: string, inputs: string[], outputs: string[], attributes: Record<string, number> = {}) {
  return onnx.NodeProto.create({
    opType,
    input: inputs,
    output: outputs,
    name: outputs[0],
    attribute: Object.entries(attributes).map(([name, i]) =>
      onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i }),
    ),
  })
}

function valueInfo(name: string, elemType: number, dims: (number | string)[]) {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  })
}

/** Initializers for an int8 matrix and its DequantizeLinear node (axis 0: per row, 1: per column). */
function dequantized(name: string, q: QuantizedRows, axis: 0 | 1) {
  const zeros = new Int8Array(q.scales.length)
  return {
    initializers: [
      int8s(`${name}_q`, [q.rows, q.dims], q.values),
      floats(`${name}_scale`, [q.scales.length], q.scales),
      int8s(`${name}_zero`, [zeros.length], zeros),
    ],
    node: node('DequantizeLinear', [`${name}_q`, `${name}_scale`, `${name}_zero`], [name], { axis }),
  }
}

/**
 * unit_query · Xᵀ as a [nodes] vector, for an int8 matrix X with one row per node and
 * per-row scales: one Gemm with transB rather than a [nodes, dims] broadcast and a
 * reduction. (Storing X transposed for a MatMul is slower: ORT dequantizes per column
 * an element at a time, ~1 ms a query at 1,056 nodes.)
 */
function nodeSimilarities(name: string, q: QuantizedRows, output: string) {
  const { initializers, node: dequantize } = dequantized(name, q, 0)
  return {
    initializers: [...initializers, int64s(`${name}_shape`, [q.rows])],
    nodes: [dequantize, node('Gemm', ['unit_query', name], [`${name}_row`], { transB: 1 }), node('Reshape', [`${name}_row`, `${name}_shape`], [output])],
  }
}

/**
 * Σ_i w_i · scale[f_i] · table_q[f_i] as a [1, width] row, for the int8 table `<name>_q` with
 * per-row float16 scales `<name>_scale`: only the gathered rows are dequantized, so the table stays int8.
 */
function embeddingBag(name: string, output: string) {
  const { ids, weights } = MODEL_IO
  return [
    node('Gather', [`${name}_q`, ids], [`${name}_rows_q`], { axis: 0 }),
    node('Cast', [`${name}_rows_q`], [`${name}_rows_f`], { to: T.FLOAT }),
    node('Gather', [`${name}_scale`, ids], [`${name}_row_scale_h`], { axis: 0 }),
    node('Cast', [`${name}_row_scale_h`], [`${name}_row_scale_units`], { to: T.FLOAT }),
    node('Mul', [`${name}_row_scale_units`, 'half_scale_unit'], [`${name}_row_scale`]),
    node('Mul', [`${name}_row_scale`, weights], [`${name}_row_weight`]),
    node('Unsqueeze', [`${name}_row_weight`, 'axis1'], [`${name}_row_weight_col`]),
    node('Mul', [`${name}_rows_f`, `${name}_row_weight_col`], [`${name}_rows_weighted`]),
    node('ReduceSum', [`${name}_rows_weighted`, 'axis0'], [output], { keepdims: 1 }),
  ]
}

export function exportOnnx(model: QuantizedQueryModel, tree: ClusterTree): Uint8Array {
  const { hidden, dims, decoderHidden } = model
  const nodesOut = tree.size - 1
  const Wq = dequantized('Wq', model.Wq, 1)
  const P = dequantized('P', model.P, 0)
  const U = dequantized('U', model.U, 0)
  const M = nodeSimilarities('M', model.M, 'memory_sim')
  const C = nodeSimilarities('C', model.C, MODEL_IO.centroidSim)
  const initializer = [
    int8s('E_q', [model.E.rows, hidden], model.E.values),
    halfScales('E_scale', model.E.scales),
    int8s('Ed_q', [model.Ed.rows, decoderHidden], model.Ed.values),
    halfScales('Ed_scale', model.Ed.scales),
    floats('half_scale_unit', [1], Float32Array.of(HALF_SCALE_UNIT)),
    floats('bq', [dims], model.bq),
    floats('bd', [decoderHidden], model.bd),
    floats('beta', [nodesOut], model.beta),
    floats('gamma', [1], model.gamma),
    floats('epsilon', [1], Float32Array.of(NORM_EPSILON)),
    int32s('parent_rows', [nodesOut], parentRows(tree)),
    int64s('axis0', [0]),
    int64s('axis1', [1]),
    ...Wq.initializers, ...P.initializers, ...U.initializers, ...M.initializers, ...C.initializers,
  ]
  const { ids, weights } = MODEL_IO
  const nodes = [
    ...embeddingBag('E', 'h'),
    // Query vector.
    Wq.node,
    node('MatMul', ['h', 'Wq'], ['hWq']),
    node('Add', ['hWq', 'bq'], [MODEL_IO.query]),
    // Prefix states of every internal node, then one logit per non-root node.
    // The decoder's own bag, weighted like the query's.
    ...embeddingBag('Ed', 'g_bag'),
    node('Add', ['g_bag', 'bd'], ['g']),
    P.node,
    node('Add', ['g', 'P'], ['g_plus_P']),
    node('Tanh', ['g_plus_P'], ['states']),
    node('Gather', ['states', 'parent_rows'], ['parent_states'], { axis: 0 }),
    U.node,
    node('Mul', ['parent_states', 'U'], ['state_U']),
    node('ReduceSum', ['state_U', 'axis1'], ['state_dot_U'], { keepdims: 0 }),
    node('Add', ['state_dot_U', 'beta'], ['memory_logits']),
    // The trained centroid prior γ · q̂·M_c, and the frozen centroids' similarity q̂·C_c.
    node('Mul', [MODEL_IO.query, MODEL_IO.query], ['query_sq']),
    node('ReduceSum', ['query_sq', 'axis1'], ['query_norm_sq'], { keepdims: 1 }),
    node('Sqrt', ['query_norm_sq'], ['query_norm']),
    node('Add', ['query_norm', 'epsilon'], ['query_norm_eps']),
    node('Div', [MODEL_IO.query, 'query_norm_eps'], ['unit_query']),
    ...M.nodes,
    node('Mul', ['memory_sim', 'gamma'], ['centroid_prior']),
    node('Add', ['memory_logits', 'centroid_prior'], [MODEL_IO.logits]),
    ...C.nodes,
  ]
  const graph = onnx.GraphProto.create({
    name: 'gdr_query_model',
    node: nodes,
    initializer,
    input: [valueInfo(ids, T.INT32, ['n']), valueInfo(weights, T.FLOAT, ['n'])],
    output: [valueInfo(MODEL_IO.query, T.FLOAT, [1, dims]), valueInfo(MODEL_IO.logits, T.FLOAT, [nodesOut]), valueInfo(MODEL_IO.centroidSim, T.FLOAT, [nodesOut])],
  })
  const proto = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'gdr-edge',
    opsetImport: [{ domain: '', version: OPSET }],
    graph,
  })
  return onnx.ModelProto.encode(proto).finish()
}
