// The load-time check of a model against its index: names, types and fixed sizes.
import { describe, expect, it } from 'vitest'
import * as ort from 'onnxruntime-web/wasm'
import { MODEL_SESSION_OPTIONS, modelMismatch } from '../../src/core/query-model.ts'
import { WARM_UP_MODEL } from '../../src/worker/warm-up-model.ts'

const tensor = (name: string, type: string, shape: (number | string)[]) => ({ name, isTensor: true as const, type: type as ort.Tensor.Type, shape })
const inputs = [tensor('ids', 'int32', ['n']), tensor('wts', 'float32', ['n'])]
const outputs = (dims: number, logits: number) => [tensor('query', 'float32', [1, dims]), tensor('logits', 'float32', [1, logits])]

describe('modelMismatch', () => {
  it('accepts the exported shapes: any input length, query [1, dims], logits [1, nodes − 1]', () => {
    expect(modelMismatch({ inputMetadata: inputs, outputMetadata: outputs(96, 22) }, 96, 23)).toBeUndefined()
    expect(modelMismatch({ inputMetadata: [tensor('ids', 'int32', ['batch']), inputs[1]], outputMetadata: outputs(96, 22) }, 96, 23)).toBeUndefined()
  })

  it('names what does not fit', () => {
    expect(modelMismatch({ inputMetadata: inputs, outputMetadata: outputs(64, 22) }, 96, 23)).toBe('query is float32 [1, 64], not float32 [1, 96]')
    expect(modelMismatch({ inputMetadata: inputs, outputMetadata: outputs(96, 30) }, 96, 23)).toBe('logits is float32 [1, 30], not float32 [1, 22]')
    expect(modelMismatch({ inputMetadata: [inputs[0]], outputMetadata: outputs(96, 22) }, 96, 23)).toBe('no wts')
    expect(modelMismatch({ inputMetadata: [tensor('ids', 'float32', ['n']), inputs[1]], outputMetadata: outputs(96, 22) }, 96, 23)).toBe('ids is float32 [n], not int32 [n]')
    expect(modelMismatch({ inputMetadata: inputs, outputMetadata: [outputs(96, 22)[0], { name: 'logits', isTensor: false }] }, 96, 23)).toBe('logits is not a tensor, not float32 [1, 22]')
  })

  it('reads a real session: another model fails with its first missing input', async () => {
    ort.env.wasm.numThreads = 1
    const session = await ort.InferenceSession.create(WARM_UP_MODEL, MODEL_SESSION_OPTIONS)
    expect(modelMismatch(session, 96, 23)).toBe('no ids')
    await session.release()
  })
})
