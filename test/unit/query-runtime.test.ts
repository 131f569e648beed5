// What the query model's runtime accepts: the exported graph only, checked when
// an index loads (a wrong file fails the load, not every query), and the ONNX
// reader under it.
import { describe, expect, it } from 'vitest'
import onnxProto from 'onnx-proto'
import { buildTree } from '../../src/core/tree.ts'
import { internalNodes, quantizeModel, type QueryModelParams } from '../../src/core/query-model.ts'
import { ModelFileError, modelMismatch, QueryModelRuntime } from '../../src/core/query-runtime.ts'
import { OnnxFormatError, readOnnxGraph } from '../../src/core/onnx-file.ts'
import { exportOnnx } from '../../scripts/build/onnx-export.ts'
import { nodeDenseKernel } from '../../scripts/node-kernel.ts'

const { onnx } = onnxProto
const tree = buildTree({ parent: [-1, 0, 0, 1, 1, 2, 2] })
const shape = { buckets: 64, hidden: 8, dims: 4, decoderHidden: 3 }
const filled = (n: number, step: number) => Float32Array.from({ length: n }, (_, i) => (((i * step) % 17) - 8) / 10)
const params: QueryModelParams = {
  ...shape,
  E: filled(shape.buckets * shape.hidden, 5),
  Wq: filled(shape.hidden * shape.dims, 3),
  bq: filled(shape.dims, 7),
  Ed: filled(shape.buckets * shape.decoderHidden, 11),
  bd: filled(shape.decoderHidden, 2),
  P: filled(internalNodes(tree).length * shape.decoderHidden, 13),
  U: filled((tree.size - 1) * shape.decoderHidden, 4),
  beta: filled(tree.size - 1, 9),
  M: filled((tree.size - 1) * shape.dims, 6),
  gamma: Float32Array.of(2),
  C: filled((tree.size - 1) * shape.dims, 6),
}
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
    const identity = onnx.ModelProto.encode({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: { name: 'g', node: [{ opType: 'Identity', input: ['x'], output: ['y'] }], input: [{ name: 'x' }], output: [{ name: 'y' }] },
    }).finish()
    expect(() => load(identity)).toThrow(/^not the query model's graph \(ops Identity\)$/)
  })

  it('names a missing, mistyped or missized initializer', () => {
    expect(() => load(edited((g) => (g.initializer = g.initializer!.filter((t) => t.name !== 'U'))))).toThrow(/^no initializer U$/)
    expect(() => load(edited((g) => (g.initializer!.find((t) => t.name === 'Wq')!.dataType = onnx.TensorProto.DataType.DOUBLE)))).toThrow(/^initializer Wq is type 11 of rank 2, not type 1 of rank 2$/)
    expect(() => load(edited((g) => (g.initializer!.find((t) => t.name === 'bq')!.rawData = new Uint8Array(4))))).toThrow(/^initializer bq holds 4 bytes, not 16 for \[4\]$/)
    expect(() => load(edited((g) => (g.initializer!.find((t) => t.name === 'M_zero')!.rawData = Int8Array.from([0, 1, 0, 0, 0, 0]) as unknown as Uint8Array)))).toThrow(/M_zero is not all zeros/)
    expect(() => load(edited((g) => (g.initializer!.find((t) => t.name === 'parent_rows')!.rawData = new Uint8Array(new Int32Array([0, 0, 0, 1, 1, 9]).buffer))))).toThrow(/parent_rows names a state the graph does not have/)
    expect(() => load(edited((g) => (g.output = [g.output![1], g.output![0]])))).toThrow(/^graph outputs are logits, query, not query, logits$/)
  })

  it('refuses a feature bucket outside the model, instead of reading past its table', () => {
    expect(() => load(file).run({ ids: Int32Array.of(64), values: Float32Array.of(1) })).toThrow(/feature bucket 64 is outside the model's 64/)
    expect(() => load(file).run({ ids: Int32Array.of(-1), values: Float32Array.of(1) })).toThrow(RangeError)
  })
})

describe('modelMismatch: a model against the index that names it', () => {
  it('accepts the shapes the index expects', () => {
    expect(modelMismatch(load(file), { dims: 4, nodes: tree.size - 1, buckets: 64 })).toBeUndefined()
  })

  it('names every shape that does not fit', () => {
    expect(modelMismatch(load(file), { dims: 8, nodes: tree.size - 1, buckets: 64 })).toBe('query vectors: 4, not 8')
    expect(modelMismatch(load(file), { dims: 4, nodes: 10, buckets: 128 })).toBe('logits: 6, not 10; feature buckets: 64, not 128')
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
  })
})
