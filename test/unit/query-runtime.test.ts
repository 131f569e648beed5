// What the query model's runtime accepts: the exported graph only, checked when
// an index loads (a wrong file fails the load, not every query), and the ONNX
// reader under it.
import { describe, expect, it } from 'vitest'
import onnxProto from 'onnx-proto'
import { buildTree } from '../../src/core/tree.ts'
import { quantizeModel } from '../../src/core/query-model.ts'
import { queryModelParams } from '../support/query-model-params.ts'
import { ModelFileError, modelMismatch, QueryModelRuntime } from '../../src/core/query-runtime.ts'
import { OnnxFormatError, readOnnxGraph } from '../../src/core/onnx-file.ts'
import { exportOnnx } from '../../scripts/build/onnx-export.ts'
import { DEFAULT_FEATURIZER } from '../../src/core/featurizer.ts'
import { IDENTITY_MODEL } from '../fixtures/identity-model.ts'
import { nodeDenseKernel } from '../../scripts/node-kernel.ts'

const { onnx } = onnxProto
const tree = buildTree({ parent: [-1, 0, 0, 1, 1, 2, 2] })
const shape = { buckets: 64, hidden: 8, dims: 4, decoderHidden: 3 }
// Deterministic values: each matrix steps through −0.8…0.8 at its own stride.
let stride = 2
const filled = (n: number, scale: number) => {
  const step = (stride = (stride % 13) + 3)
  return Float32Array.from({ length: n }, (_, i) => ((((i * step) % 17) - 8) / 10) * scale * 4)
}
const params = queryModelParams(shape, tree, filled, 2)
const file = exportOnnx(quantizeModel(params), tree)
const load = (bytes: Uint8Array) => new QueryModelRuntime(bytes, nodeDenseKernel())

/** The exported model with its graph changed by `edit`. */
function edited(edit: (graph: onnxProto.onnx.IGraphProto) => void): Uint8Array {
  const model = onnx.ModelProto.decode(file)
  edit(model.graph!)
  return onnx.ModelProto.encode(model).finish()
}

describe('QueryModelRuntime: the files it runs', () => {
  it('reads the exported graph and its shape', () => {
    const model = load(file)
    expect([model.buckets, model.hidden, model.dims, model.decoderHidden, model.nodes]).toEqual([64, 8, 4, 3, tree.size - 1])
  })

  it('refuses bytes that are not an ONNX model', () => {
    expect(() => load(new TextEncoder().encode('not a model at all'))).toThrow(ModelFileError)
    expect(() => load(file.subarray(0, file.length - 5))).toThrow(/^not an ONNX model: /)
    expect(() => load(new Uint8Array(0))).toThrow(/^not an ONNX model: no graph$/)
  })

  it('refuses an ONNX model of another graph, naming its ops', () => {
    expect(() => load(IDENTITY_MODEL)).toThrow(/^not the query model's graph \(ops Identity\)$/)
  })

  it('refuses the same ops wired or configured otherwise, naming the node', () => {
    // Another alpha: a model exported with another scale unit would be scaled wrongly, not refused, were it not checked.
    const alpha = edited((g) => (g.node![6].attribute!.find((a) => a.name === 'alpha')!.f = 1 / 512))
    expect(() => load(alpha)).toThrow(/^node 6 is Gemm\(E_row_weights,E_rows_f\) -> h \{alpha=0\.001953125f\}, not Gemm\(E_row_weights,E_rows_f\) -> h \{alpha=0\.0009765625f\}$/)
    const wired = edited((g) => (g.node![7].input = ['h', 'Wq']))
    expect(() => load(wired)).toThrow(/^node 7 is Gemm\(h,Wq\) -> query \{\}, not Gemm\(h,Wq,bq\) -> query \{\}$/)
    const transposed = edited((g) => (g.node![23].attribute = []))
    expect(() => load(transposed)).toThrow(/^node 23 is Gemm\(unit_query,M,beta\) -> prior_plus_beta \{\}, not .* \{transB=1\}$/)
  })

  it('names a missing, mistyped or missized initializer', () => {
    expect(() => load(edited((g) => (g.initializer = g.initializer!.filter((t) => t.name !== 'U'))))).toThrow(/^no initializer U$/)
    expect(() => load(edited((g) => (g.initializer!.find((t) => t.name === 'Wq')!.dataType = onnx.TensorProto.DataType.DOUBLE)))).toThrow(/^initializer Wq is type 11 of rank 2, not type 1 of rank 2$/)
    expect(() => load(edited((g) => (g.initializer!.find((t) => t.name === 'bq')!.rawData = new Uint8Array(4))))).toThrow(/^initializer bq holds 4 bytes, not 16 for \[4\]$/)
    expect(() => load(edited((g) => (g.initializer!.find((t) => t.name === 'M_zero')!.rawData = Int8Array.from([0, 1, 0, 0, 0, 0]) as unknown as Uint8Array)))).toThrow(/M_zero is not all zeros/)
    expect(() => load(edited((g) => (g.initializer!.find((t) => t.name === 'parent_rows')!.rawData = new Uint8Array(new Int32Array([0, 0, 0, 1, 1, 9]).buffer))))).toThrow(/parent_rows names a state the graph does not have/)
    expect(() => load(edited((g) => (g.output = [g.output![1], g.output![0]])))).toThrow(/^graph outputs are logits, query, not query, logits$/)
    // Wq [hidden, dims] stored as [dims, hidden]: as many values, the wrong shape.
    expect(() => load(edited((g) => (g.initializer!.find((t) => t.name === 'Wq')!.dims = [4, 8])))).toThrow(/^Wq is \[4, 8\], not \[8, 4\]$/)
    const f32 = (...v: number[]) => new Uint8Array(Float32Array.from(v).buffer)
    expect(() => load(edited((g) => (g.initializer!.find((t) => t.name === 'epsilon')!.rawData = f32(0))))).toThrow(/^epsilon is 0, not a positive number$/)
    expect(() => load(edited((g) => (g.initializer!.find((t) => t.name === 'bq')!.rawData = f32(0, NaN, 0, 0))))).toThrow(/^bq holds a value that is not finite$/)
  })

  it('refuses features whose ids and weights differ in number', () => {
    expect(() => load(file).run({ ids: Int32Array.of(1, 2), values: Float32Array.of(1) })).toThrow(/^2 feature ids but 1 weights$/)
  })

  it('refuses a feature bucket outside the model, instead of reading past its table', () => {
    expect(() => load(file).run({ ids: Int32Array.of(64), values: Float32Array.of(1) })).toThrow(/feature bucket 64 is outside the model's 64/)
    expect(() => load(file).run({ ids: Int32Array.of(-1), values: Float32Array.of(1) })).toThrow(RangeError)
  })
})

describe('modelMismatch: a model against the index that names it', () => {
  const index = (dims: number, parent: number[], buckets: number) => ({ dims, tree: { parent }, featurizer: { ...DEFAULT_FEATURIZER, buckets } })
  it('accepts the shapes the index expects', () => {
    expect(modelMismatch(load(file), index(4, [-1, 0, 0, 1, 1, 2, 2], 64))).toBeUndefined()
  })

  it('names every shape that does not fit', () => {
    expect(modelMismatch(load(file), index(8, [-1, 0, 0, 1, 1, 2, 2], 64))).toBe('query vectors: 4, not 8')
    expect(modelMismatch(load(file), index(4, [-1, 0, 0], 128))).toBe('logits: 6, not 2; feature buckets: 64, not 128')
  })
})

describe('readOnnxGraph', () => {
  it('reads dims packed and unpacked alike', () => {
    const packed = onnx.ModelProto.encode({ graph: { initializer: [{ name: 't', dataType: 1, dims: [2, 300], rawData: new Uint8Array(2400) }] } }).finish()
    expect(readOnnxGraph(packed).initializers.get('t')).toMatchObject({ name: 't', dataType: 1, dims: [2, 300] })
    // The same dims one field each (tag 0x08), as other writers may write them; field 7 (graph) → 5 (initializer).
    const wrap = (field: number, bytes: number[]) => [(field << 3) | 2, bytes.length, ...bytes]
    const tensor = [0x08, 0x02, 0x08, 0xac, 0x02, 0x10, 0x01, ...wrap(8, [0x74]), ...wrap(9, [])]
    const unpacked = Uint8Array.from(wrap(7, wrap(5, tensor)))
    expect(readOnnxGraph(unpacked).initializers.get('t')).toMatchObject({ name: 't', dataType: 1, dims: [2, 300] })
  })

  it('refuses a field that runs past its message', () => {
    expect(() => readOnnxGraph(Uint8Array.of(0x3a, 0x10, 0x00))).toThrow(OnnxFormatError)
    expect(() => readOnnxGraph(Uint8Array.of(0x08, 0x80))).toThrow(/truncated varint/)
    // A length of 2^35: refused, not allocated or read.
    expect(() => readOnnxGraph(Uint8Array.of(0x3a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01))).toThrow(/field 7 runs past its message/)
  })

  it('skips fixed-width fields, and refuses what protobuf does not allow', () => {
    // A fixed32 (field 3) and a fixed64 (field 4) before the graph: skipped.
    const graph = [0x3a, 0x00]
    expect(readOnnxGraph(Uint8Array.of(0x1d, 1, 2, 3, 4, 0x21, 1, 2, 3, 4, 5, 6, 7, 8, ...graph)).nodes).toEqual([])
    expect(() => readOnnxGraph(Uint8Array.of(0x1d, 1, 2))).toThrow(/field 3 runs past its message/)
    expect(() => readOnnxGraph(Uint8Array.of(0x03, ...graph))).toThrow(/field number 0/)
    expect(() => readOnnxGraph(Uint8Array.of(0x0b, ...graph))).toThrow(/unsupported wire type 3 \(field 1\)/)
    expect(() => readOnnxGraph(Uint8Array.of(0x0c, ...graph))).toThrow(/unsupported wire type 4 \(field 1\)/)
    expect(() => readOnnxGraph(Uint8Array.of(0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02))).toThrow(/varint longer than 64 bits/)
    const twice = onnx.ModelProto.encode({ graph: { initializer: [{ name: 't', dataType: 1, rawData: new Uint8Array(0) }, { name: 't', dataType: 1, rawData: new Uint8Array(0) }] } }).finish()
    expect(() => readOnnxGraph(twice)).toThrow(/two initializers named "t"/)
  })
})
