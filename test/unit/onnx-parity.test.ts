// The exported int8 ONNX graph, run by onnxruntime-web and by the runtime the
// Worker runs it with (src/core/query-runtime.ts), equals the TypeScript
// reference forward pass on the dequantized weights.
import { describe, expect, it } from 'vitest'
import * as ort from 'onnxruntime-web'
import { buildTree } from '../../src/core/tree.ts'
import { dequantizeModel, forward, MODEL_IO, quantizeModel } from '../../src/core/query-model.ts'
import { queryModelParams } from '../support/query-model-params.ts'
import { DEFAULT_FEATURIZER, featurize, type SparseFeatures } from '../../src/core/featurizer.ts'
import { exportOnnx } from '../../scripts/build/onnx-export.ts'
import { QueryModelRuntime } from '../../src/core/query-runtime.ts'
import { nodeDenseKernel } from '../../scripts/node-kernel.ts'
import { checkModelFile, MODEL_SESSION_OPTIONS, MODEL_TOLERANCE, modelInputs, runOnOrt } from '../../scripts/build/model-check.ts'
import { createRng, gaussian } from '../../scripts/build/random.ts'

/** Stated tolerance: float32 sums in a different order; relative to the output's scale. */
const TOLERANCE = 1e-5

describe('ONNX export ↔ reference forward pass', () => {
  const tree = buildTree({ parent: [-1, 0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 4, 4] })
  const rng = createRng(3)
  const random = (n: number, s: number) => Float32Array.from({ length: n }, () => gaussian(rng) * s)
  const shape = { buckets: 1024, hidden: 48, dims: 16, decoderHidden: 12 }
  const params = queryModelParams(shape, tree, random)
  const quantized = quantizeModel(params)
  const reference = dequantizeModel(quantized)
  const config = { ...DEFAULT_FEATURIZER, buckets: shape.buckets }

  async function run(session: ort.InferenceSession, f: SparseFeatures) {
    const out = await session.run({
      [MODEL_IO.ids]: new ort.Tensor('int32', f.ids, [f.ids.length]),
      [MODEL_IO.weights]: new ort.Tensor('float32', f.values, [f.values.length]),
    })
    return { query: out[MODEL_IO.query], logits: out[MODEL_IO.logits] }
  }

  it(`matches within ${TOLERANCE} (relative) on real queries`, async () => {
    ort.env.wasm.numThreads = 1
    const session = await ort.InferenceSession.create(exportOnnx(quantized, tree), MODEL_SESSION_OPTIONS)
    // The frozen centroids are index data (src/core/centroids.ts), not a graph output.
    expect(session.outputNames).toEqual([MODEL_IO.query, MODEL_IO.logits])
    for (const text of ['wind tunnel tests at Mach 2', 'a', 'the the the the', 'ünïcödé 🙂 text', 'x'.repeat(300)]) {
      const f = featurize(text, config)
      const onnx = await run(session, f)
      const ref = forward(reference, tree, f)
      expect(onnx.query.dims).toEqual([1, shape.dims])
      expect(onnx.logits.dims).toEqual([1, tree.size - 1])
      const close = (a: ArrayLike<number>, b: ArrayLike<number>) => {
        const scale = Math.max(1, ...Array.from(b, Math.abs))
        for (let i = 0; i < b.length; i++) expect(Math.abs(a[i] - b[i]) / scale, `${text}[${i}]`).toBeLessThan(TOLERANCE)
      }
      close(onnx.query.data as Float32Array, ref.query)
      close(onnx.logits.data as Float32Array, ref.logits)
    }
  })

  it(`runs in the Worker's runtime within ${TOLERANCE} (relative) of the reference and of onnxruntime-web`, async () => {
    ort.env.wasm.numThreads = 1
    const file = exportOnnx(quantized, tree)
    const session = await ort.InferenceSession.create(file, MODEL_SESSION_OPTIONS)
    const runtime = new QueryModelRuntime(file, nodeDenseKernel())
    expect([runtime.buckets, runtime.hidden, runtime.dims, runtime.decoderHidden, runtime.nodes]).toEqual([shape.buckets, shape.hidden, shape.dims, shape.decoderHidden, tree.size - 1])
    for (const text of ['wind tunnel tests at Mach 2', 'a', 'the the the the', 'ünïcödé 🙂 text', 'x'.repeat(300), '']) {
      const f = featurize(text, config)
      const mine = runtime.run(f)
      const ref = forward(reference, tree, f)
      // ORT is given the padded inputs the build's check gives it (an empty query has no rows otherwise).
      const onnx = await runOnOrt(session, f)
      const close = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => {
        expect(a.length, what).toBe(b.length)
        const scale = Math.max(1, ...Array.from(b, Math.abs))
        for (let i = 0; i < b.length; i++) expect(Math.abs(a[i] - b[i]) / scale, `${what} "${text}"[${i}]`).toBeLessThan(TOLERANCE)
      }
      close(mine.query, ref.query, 'query vs forward')
      close(mine.logits, ref.logits, 'logits vs forward')
      close(mine.query, onnx.query, 'query vs onnxruntime-web')
      close(mine.logits, onnx.logits, 'logits vs onnxruntime-web')
    }
    // Fresh outputs per run: a caller's arrays are not overwritten by the next query.
    const first = runtime.run(featurize('wind tunnel', config))
    const kept = Array.from(first.logits)
    runtime.run(featurize('boundary layer', config))
    expect(Array.from(first.logits)).toEqual(kept)
  })

  it('is what every build checks its model file with, before writing the index', async () => {
    const file = exportOnnx(quantized, tree)
    const queries = ['wind tunnel tests at Mach 2', 'a', 'x'.repeat(300)].map((text) => featurize(text, config))
    const check = await checkModelFile(file, reference, tree, queries)
    expect(check.queries).toBe(4) // and the empty query
    expect(check.vsOrt).toBeLessThan(MODEL_TOLERANCE)
    expect(check.vsForward).toBeLessThan(MODEL_TOLERANCE)
    // Weights other than the file's (as a build whose tuning ran another model would have): refused.
    const shifted = { ...reference, beta: reference.beta.map((b) => b + 0.01) }
    await expect(checkModelFile(file, shifted, tree, queries)).rejects.toThrow(/from forward\(\)'s by up to 0\.0(09|1)\d* \(allowed: 0\.0001\)/)
  })

  it('gives the same bits with the shared session options (M folded once) as with no graph optimization', async () => {
    ort.env.wasm.numThreads = 1
    const model = exportOnnx(quantized, tree)
    const shared = await ort.InferenceSession.create(model, MODEL_SESSION_OPTIONS)
    const plain = await ort.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel: 'disabled' })
    for (const text of ['wind tunnel tests at Mach 2', 'a', 'x'.repeat(300)]) {
      const f = featurize(text, config)
      const [a, b] = [await run(shared, f), await run(plain, f)]
      expect(Array.from(a.query.data as Float32Array)).toEqual(Array.from(b.query.data as Float32Array))
      expect(Array.from(a.logits.data as Float32Array)).toEqual(Array.from(b.logits.data as Float32Array))
    }
  })

  it('gives the same bits on padded inputs (modelInputs) as on the bare features', async () => {
    ort.env.wasm.numThreads = 1
    const session = await ort.InferenceSession.create(exportOnnx(quantized, tree), MODEL_SESSION_OPTIONS)
    for (const text of ['wind tunnel tests at Mach 2', 'a', 'the the the the', 'x'.repeat(300)]) {
      const f = featurize(text, config)
      const { ids, weights } = modelInputs(f)
      expect(ids.length % 16, text).toBe(0)
      expect(ids.length - f.ids.length, text).toBeLessThan(16)
      const [a, b] = [await run(session, f), await run(session, { ids, values: weights })]
      expect(Array.from(b.query.data as Float32Array)).toEqual(Array.from(a.query.data as Float32Array))
      expect(Array.from(b.logits.data as Float32Array)).toEqual(Array.from(a.logits.data as Float32Array))
    }
    // No tokens: all-zero rows, the same answer as the bias alone gives.
    const empty = modelInputs({ ids: new Int32Array(0), values: new Float32Array(0) })
    expect(empty.ids.length).toBe(16)
    expect(Array.from(empty.weights).every((w) => w === 0)).toBe(true)
    const ref = forward(reference, tree, { ids: new Int32Array(0), values: new Float32Array(0) })
    const out = await run(session, { ids: empty.ids, values: empty.weights })
    ;(out.query.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(ref.query[i], 5))
  })

  it('stores weights as int8: the file is about a quarter of the float size', () => {
    const bytes = exportOnnx(quantized, tree).length
    const floatBytes = 4 * (params.E.length + params.Ed.length + params.Wq.length + params.P.length + params.U.length + params.M.length)
    expect(bytes).toBeLessThan(floatBytes * 0.3)
  })

  it('differs measurably from the unquantized model (the test sees the int8 weights)', () => {
    const f = featurize('wind tunnel tests', config)
    const q = forward(reference, tree, f).query
    const full = forward(params, tree, f).query
    const maxDiff = Math.max(...Array.from(q, (v, i) => Math.abs(v - full[i])))
    expect(maxDiff).toBeGreaterThan(TOLERANCE)
  })

  it('names the matrix and row whose values its float16 row scale cannot hold, instead of exporting NaN', () => {
    const E = Float32Array.from(params.E)
    E[5 * shape.hidden + 2] = 1e10
    expect(() => quantizeModel({ ...params, E })).toThrow(/^E, row 5: values up to 10000000000, past what its stored scale can hold$/)
  })
})
