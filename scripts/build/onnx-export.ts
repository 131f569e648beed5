// Writes the quantized query model as an ONNX graph (opset 17), the nodes of
// MODEL_GRAPH (src/core/query-model-graph.ts), that computes exactly `forward()` of
// src/core/query-model.ts on the dequantized weights.
// The large matrices stay int8 in the file and, for the embedding tables, in
// memory too: only the gathered rows are cast to float at run time. The graph
// is as few nodes as the math allows: when onnxruntime-web ran the model in the
// Worker (until session 20), its cost per node was most of a query's model time (26 nodes instead of 43: npm 186K, Node, 264 → 202 µs a query;
// 25 without the centroids' product).

import onnxProto from 'onnx-proto'
import type { ClusterTree } from '../../src/core/tree.ts'
import type { QuantizedQueryModel } from '../../src/core/query-model.ts'
import { MODEL_IO, NORM_EPSILON, parentRows } from '../../src/core/query-model.ts'
import { MODEL_GRAPH, type GraphNode } from '../../src/core/query-model-graph.ts'
import { dequantizeColumns, dequantizeRows, HALF_SCALE_UNIT, toHalfBits } from '../../src/core/quant.ts'

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

/** One node of MODEL_GRAPH as a NodeProto, named after its first output. */
function node({ opType, inputs, outputs, ints = {}, floats = {} }: GraphNode) {
  const { AttributeType } = onnx.AttributeProto
  return onnx.NodeProto.create({
    opType,
    input: inputs,
    output: outputs,
    name: outputs[0],
    attribute: [
      ...Object.entries(ints).map(([name, v]) =>
        Array.isArray(v) ? onnx.AttributeProto.create({ name, type: AttributeType.INTS, ints: v }) : onnx.AttributeProto.create({ name, type: AttributeType.INT, i: v }),
      ),
      ...Object.entries(floats).map(([name, f]) => onnx.AttributeProto.create({ name, type: AttributeType.FLOAT, f })),
    ],
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

/**
 * The centroid prior's initializers: M (its scales times γ) as int8 with per-row
 * scales and β as the Gemm's bias (MODEL_GRAPH). Storing M transposed for a MatMul
 * was slower when onnxruntime-web ran the model: it dequantized per column an element
 * at a time, ~1 ms a query at 1,056 nodes. The frozen centroids C are not in the
 * graph: src/core/centroids.ts.
 */
function centroidPrior(model: QuantizedQueryModel, nodes: number) {
  return [
    int8s('M_q', [nodes, model.dims], model.M.values),
    floats('M_scale', [nodes], model.M.scales.map((s) => s * model.gamma[0])),
    int8s('M_zero', [nodes], new Int8Array(nodes)),
    floats('beta', [nodes], model.beta),
  ]
}

export function exportOnnx(model: QuantizedQueryModel, tree: ClusterTree): Uint8Array {
  const { dims, decoderHidden } = model
  const nodesOut = tree.size - 1
  const initializer = [
    int8s('E_q', [model.E.rows, model.hidden], model.E.values),
    halfScales('E_scale', model.E.scales),
    int8s('Ed_q', [model.Ed.rows, decoderHidden], model.Ed.values),
    halfScales('Ed_scale', model.Ed.scales),
    // The small matrices as float: exactly the values their int8 rows dequantize to,
    // ~100 KB more file and no dequantization per query.
    floats('Wq', [model.Wq.rows, model.Wq.dims], dequantizeColumns(model.Wq)),
    floats('P', [model.P.rows, model.P.dims], dequantizeRows(model.P)),
    floats('U', [model.U.rows, model.U.dims], dequantizeRows(model.U)),
    floats('bq', [dims], model.bq),
    floats('bd', [decoderHidden], model.bd),
    floats('epsilon', [1], Float32Array.of(NORM_EPSILON)),
    int32s('parent_rows', [nodesOut], parentRows(tree)),
    int64s('axis0', [0]),
    int64s('axis1', [1]),
    ...centroidPrior(model, nodesOut),
  ]
  const { ids, weights } = MODEL_IO
  const graph = onnx.GraphProto.create({
    name: 'gdr_query_model',
    node: MODEL_GRAPH.map(node),
    initializer,
    input: [valueInfo(ids, T.INT32, ['n']), valueInfo(weights, T.FLOAT, ['n'])],
    output: [valueInfo(MODEL_IO.query, T.FLOAT, [1, dims]), valueInfo(MODEL_IO.logits, T.FLOAT, [1, nodesOut])],
  })
  const proto = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'gdr-edge',
    opsetImport: [{ domain: '', version: OPSET }],
    graph,
  })
  return onnx.ModelProto.encode(proto).finish()
}
