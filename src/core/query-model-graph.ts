// The query model's ONNX graph, node by node: what the exporter writes
// (scripts/build/onnx-export.ts) and what the runtime (query-runtime.ts) accepts
// and computes. One description, so the two cannot drift: a file whose nodes,
// wiring or attributes differ from it is refused, not misread.

import { MODEL_IO } from './query-model.ts'
import { HALF_SCALE_UNIT } from './quant.ts'
import { ONNX_TYPE } from './onnx-file.ts'

/** A node's attributes: integers (one or a list) and floats, by name. */
export interface GraphNode {
  opType: string
  inputs: string[]
  outputs: string[]
  ints?: Record<string, number | number[]>
  floats?: Record<string, number>
}

/**
 * Σ_i w_i · scale[f_i] · table_q[f_i] as a [1, width] row (+ bias), for the int8 table
 * `<name>_q` with per-row float16 scales `<name>_scale`: only the gathered rows are
 * dequantized; the weighted sum is one Gemm of the row weights [1, n] and the rows
 * [n, width], HALF_SCALE_UNIT (a power of two) its alpha.
 */
function embeddingBag(name: string, output: string, bias?: string): GraphNode[] {
  return [
    { opType: 'Gather', inputs: [`${name}_q`, MODEL_IO.ids], outputs: [`${name}_rows_q`], ints: { axis: 0 } },
    { opType: 'Cast', inputs: [`${name}_rows_q`], outputs: [`${name}_rows_f`], ints: { to: ONNX_TYPE.float } },
    { opType: 'Gather', inputs: [`${name}_scale`, MODEL_IO.ids], outputs: [`${name}_row_scale_h`], ints: { axis: 0 } },
    { opType: 'Cast', inputs: [`${name}_row_scale_h`], outputs: [`${name}_row_scale_units`], ints: { to: ONNX_TYPE.float } },
    { opType: 'Mul', inputs: [`${name}_row_scale_units`, 'weights_row'], outputs: [`${name}_row_weights`] },
    { opType: 'Gemm', inputs: [`${name}_row_weights`, `${name}_rows_f`, ...(bias ? [bias] : [])], outputs: [output], floats: { alpha: HALF_SCALE_UNIT } },
  ]
}

/**
 * The graph's 25 nodes. γ·q̂·M_c + β_c for every node c is one [1, nodes] product:
 * M (its scales times γ) as int8 with per-row scales, one DequantizeLinear, one Gemm
 * with transB and β as its bias.
 */
export const MODEL_GRAPH: readonly GraphNode[] = [
  { opType: 'Unsqueeze', inputs: [MODEL_IO.weights, 'axis0'], outputs: ['weights_row'] },
  // Query vector, and its unit vector.
  ...embeddingBag('E', 'h'),
  { opType: 'Gemm', inputs: ['h', 'Wq', 'bq'], outputs: [MODEL_IO.query] },
  { opType: 'ReduceL2', inputs: [MODEL_IO.query], outputs: ['query_norm'], ints: { axes: [1], keepdims: 1 } },
  { opType: 'Add', inputs: ['query_norm', 'epsilon'], outputs: ['query_norm_eps'] },
  { opType: 'Div', inputs: [MODEL_IO.query, 'query_norm_eps'], outputs: ['unit_query'] },
  // Prefix states of every internal node from the decoder's own bag, then each
  // non-root node's parent state · U_c.
  ...embeddingBag('Ed', 'g', 'bd'),
  { opType: 'Add', inputs: ['g', 'P'], outputs: ['g_plus_P'] },
  { opType: 'Tanh', inputs: ['g_plus_P'], outputs: ['states'] },
  { opType: 'Gather', inputs: ['states', 'parent_rows'], outputs: ['parent_states'], ints: { axis: 0 } },
  { opType: 'Mul', inputs: ['parent_states', 'U'], outputs: ['state_U'] },
  { opType: 'ReduceSum', inputs: ['state_U', 'axis1'], outputs: ['state_dot_U'], ints: { keepdims: 0 } },
  // The trained centroid prior γ·q̂·M_c (+ β_c).
  { opType: 'DequantizeLinear', inputs: ['M_q', 'M_scale', 'M_zero'], outputs: ['M'], ints: { axis: 0 } },
  { opType: 'Gemm', inputs: ['unit_query', 'M', 'beta'], outputs: ['prior_plus_beta'], ints: { transB: 1 } },
  { opType: 'Add', inputs: ['state_dot_U', 'prior_plus_beta'], outputs: [MODEL_IO.logits] },
]

/** `node` as one comparable string: op, wiring and attributes (sorted by name). */
export function nodeSignature(node: GraphNode): string {
  const attributes = [
    ...Object.entries(node.ints ?? {}).map(([name, v]) => `${name}=${Array.isArray(v) ? `[${v.join(',')}]` : v}`),
    ...Object.entries(node.floats ?? {}).map(([name, v]) => `${name}=${Math.fround(v)}f`),
  ].sort()
  return `${node.opType}(${node.inputs.join(',')}) -> ${node.outputs.join(',')} {${attributes.join(';')}}`
}
