// The model the Worker starts ORT with: what it says it is, and runnable.
import { describe, expect, it } from 'vitest'
import * as ort from 'onnxruntime-web'
import onnxProto from 'onnx-proto'
import { WARM_UP_MODEL } from '../../src/worker/warm-up-model.ts'
import { MODEL_SESSION_OPTIONS } from '../../src/core/query-model.ts'

const { onnx } = onnxProto

describe('the warm-up model', () => {
  it('is one Identity node over float32 [1] (IR 8, opset 17)', () => {
    const value = (name: string) =>
      onnx.ValueInfoProto.create({
        name,
        type: onnx.TypeProto.create({ tensorType: onnx.TypeProto.Tensor.create({ elemType: onnx.TensorProto.DataType.FLOAT, shape: onnx.TensorShapeProto.create({ dim: [onnx.TensorShapeProto.Dimension.create({ dimValue: 1 })] }) }) }),
      })
    const graph = onnx.GraphProto.create({ name: 'w', node: [onnx.NodeProto.create({ opType: 'Identity', input: ['x'], output: ['y'] })], input: [value('x')], output: [value('y')] })
    const bytes = onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph })).finish()
    expect(Uint8Array.from(bytes)).toEqual(WARM_UP_MODEL)
  })

  it('runs in onnxruntime-web, with the options the Worker starts ORT with', async () => {
    ort.env.wasm.numThreads = 1
    const session = await ort.InferenceSession.create(WARM_UP_MODEL, MODEL_SESSION_OPTIONS)
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.of(3), [1]) })
    expect(Array.from(out.y.data as Float32Array)).toEqual([3])
    await session.release()
  })
})
