// Every build checks the model file it writes before it writes the index: the
// Worker's runtime (src/core/query-runtime.ts) must give, on the build's own
// held-out queries, the outputs of onnxruntime-web on the same file and of the
// reference forward() that tuning scored α and β with.

import * as ort from 'onnxruntime-web'
import type { SparseFeatures } from '../../src/core/featurizer.ts'
import type { ClusterTree } from '../../src/core/tree.ts'
import { forward, MODEL_IO, type QueryModelWeights } from '../../src/core/query-model.ts'
import { QueryModelRuntime } from '../../src/core/query-runtime.ts'
import { nodeDenseKernel } from '../node-kernel.ts'

/**
 * Largest difference allowed in any output (query vector or logit), absolute: the
 * three sum float32 products in different orders, and a real model's logits reach
 * tens. npm 186K's model over its 200 bench queries differed from onnxruntime-web by
 * at most 1.2e-6 (query) and 7.6e-6 (logits). (The parity tests hold a small random
 * model to 1e-5 of its outputs' scale.)
 */
export const MODEL_TOLERANCE = 1e-4

/** How many of the queries are run three ways (the rest of the build's time dwarfs it). */
const CHECKED_QUERIES = 200

export interface ModelCheck {
  queries: number
  /** Largest |runtime − onnxruntime-web| and |runtime − forward()| over every output. */
  vsOrt: number
  vsForward: number
}

/**
 * How every onnxruntime-web session of the model is made (the build's check, and
 * the tests; the Worker ran one until session 20). 'basic' with ORT's QDQ
 * handling off folds the graph's one DequantizeLinear of a constant (M: int8 in
 * the file, which keeps the model under 8 MB) into float weights once, when the
 * session is made, instead of on every run. The gathered embedding rows are
 * still dequantized per query. npm 186K, in Node, with a build running beside it
 * (.tmp/ortopts.mts): median run 104 → 79 µs, and 110 → 90 µs with the caches
 * trashed first. Creating a session took 2–15 ms before and 3–15 ms after
 * (.tmp/ortcreate.mts); in workerd's cold starts 18–73 ms before and 20–76 after,
 * 33 of those 35 under 27 ms (session 12's benchmarks). The outputs are the same
 * bits (a test here, and the bench's 200 queries, .tmp/ortparity.mts). 'all' ran
 * no faster here, and on an earlier graph it cost ~250 ms more of a cold
 * isolate's CPU than 'basic'.
 */
export const MODEL_SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  executionProviders: ['wasm'],
  graphOptimizationLevel: 'basic',
  extra: { session: { disable_quant_qdq: '1' } },
}

/** The model's two inputs for one query: bucket ids and their weights, of the same length. */
export interface ModelInputs {
  ids: Int32Array
  weights: Float32Array
}

/** A query's inputs are padded to a multiple of this many rows. */
const INPUT_ROW_MULTIPLE = 16

/**
 * A query's features as the model's inputs, padded with zero-weight rows of
 * bucket 0 to a multiple of INPUT_ROW_MULTIPLE rows (at least one multiple): a
 * zero weight adds exactly nothing to either bag, and ORT's Gemm over the
 * gathered rows then runs without a scalar tail. npm 186K, Node, 200 queries of
 * 24–181 features (.tmp/ortshape.mts, two runs): median run 79–81 → 57 µs
 * (padding to a multiple of 8 or 32, or to a power of two, gave 57–61 µs).
 * A query with no tokens gets all-zero rows and still a well-formed answer.
 */
export function modelInputs(features: SparseFeatures): ModelInputs {
  const rows = Math.max(1, Math.ceil(features.ids.length / INPUT_ROW_MULTIPLE)) * INPUT_ROW_MULTIPLE
  const ids = new Int32Array(rows)
  const weights = new Float32Array(rows)
  ids.set(features.ids)
  weights.set(features.values)
  return { ids, weights }
}

/** Throws when the runtime and onnxruntime-web, or the runtime and forward(), differ by more than MODEL_TOLERANCE. */
export async function checkModelFile(file: Uint8Array, weights: QueryModelWeights, tree: ClusterTree, queries: readonly SparseFeatures[]): Promise<ModelCheck> {
  const runtime = new QueryModelRuntime(file, nodeDenseKernel())
  ort.env.wasm.numThreads = 1
  const session = await ort.InferenceSession.create(file, MODEL_SESSION_OPTIONS)
  const checked = [{ ids: new Int32Array(0), values: new Float32Array(0) }, ...queries.slice(0, CHECKED_QUERIES)]
  let vsOrt = 0
  let vsForward = 0
  try {
    for (const features of checked) {
      const mine = runtime.run(features)
      const out = await runOnOrt(session, features)
      const reference = forward(weights, tree, features)
      vsOrt = Math.max(vsOrt, largestDifference(mine.query, out.query), largestDifference(mine.logits, out.logits))
      vsForward = Math.max(vsForward, largestDifference(mine.query, reference.query), largestDifference(mine.logits, reference.logits))
    }
  } finally {
    await session.release()
  }
  if (!(vsOrt <= MODEL_TOLERANCE && vsForward <= MODEL_TOLERANCE)) {
    throw new Error(`the model file's outputs in the Worker's runtime differ from onnxruntime-web's by up to ${vsOrt} and from forward()'s by up to ${vsForward} (allowed: ${MODEL_TOLERANCE})`)
  }
  return { queries: checked.length, vsOrt, vsForward }
}

/** One run of a session of the model file on a query's features, given as modelInputs pads them. */
export async function runOnOrt(session: ort.InferenceSession, features: SparseFeatures): Promise<{ query: Float32Array; logits: Float32Array }> {
  const { ids, weights } = modelInputs(features)
  const out = await session.run({ [MODEL_IO.ids]: new ort.Tensor('int32', ids, [ids.length]), [MODEL_IO.weights]: new ort.Tensor('float32', weights, [weights.length]) })
  return { query: out[MODEL_IO.query].data as Float32Array, logits: out[MODEL_IO.logits].data as Float32Array }
}

function largestDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity
  let largest = 0
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i])
    // NaN on either side counts as the largest difference of all.
    if (!(d <= largest)) largest = Number.isNaN(d) ? Infinity : d
  }
  return largest
}
