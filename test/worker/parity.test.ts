// The Worker path and the build path must never disagree: the featurizer, the
// ONNX model, the leaf centroids and the dense kernel give the same numbers in
// workerd as in Node.
import { env } from 'cloudflare:workers'
import { describe, expect, inject, it } from 'vitest'
import { featurize } from '../../src/core/featurizer.ts'
import { MODEL_IO, modelInputs } from '../../src/core/query-model.ts'
import { queryVector } from '../../src/core/search.ts'
import { decodeLeafCentroids, decodeShard } from '../../src/core/shard-codec.ts'
import { CentroidTable } from '../../src/core/centroids.ts'
import { buildTree } from '../../src/core/tree.ts'
import { workerDenseKernel } from '../../src/worker/kernel.ts'
import { createSession, Tensor } from '../../src/worker/ort.ts'
import { decodeBase64, manifestOf } from './fixtures.ts'

const index = inject('tinyIndex')
const parity = inject('parity')
const manifest = manifestOf(index)

describe('workerd ↔ Node parity', () => {
  it('featurizes every string identically', () => {
    for (const c of parity.cases) {
      const f = featurize(c.q, manifest.featurizer)
      expect(Array.from(f.ids), c.q).toEqual(c.ids)
      expect(Array.from(f.values), c.q).toEqual(c.values)
    }
  })

  it('runs the int8 ONNX model to the same outputs (within 1e-5)', async () => {
    expect(env.INDEX).toBeDefined()
    const session = await createSession(decodeBase64(index.files[manifest.model.key]))
    for (const c of parity.cases) {
      // Both sides feed the model what modelInputs makes of the features: padded, an empty query included.
      const inputs = modelInputs({ ids: Int32Array.from(c.ids), values: Float32Array.from(c.values) })
      const outputs = await session.run({
        [MODEL_IO.ids]: new Tensor('int32', inputs.ids, [inputs.ids.length]),
        [MODEL_IO.weights]: new Tensor('float32', inputs.weights, [inputs.weights.length]),
      })
      const query = Array.from(outputs[MODEL_IO.query].data as Float32Array)
      const logits = Array.from(outputs[MODEL_IO.logits].data as Float32Array)
      expect(query.length).toBe(c.query.length)
      expect(logits.length).toBe(c.logits.length)
      query.forEach((v, i) => expect(Math.abs(v - c.query[i])).toBeLessThan(1e-5))
      logits.forEach((v, i) => expect(Math.abs(v - c.logits[i])).toBeLessThan(1e-5))
    }
  })

  it('compares a query with every leaf centroid, and its nearest part centroid, to the same bits', () => {
    const tree = buildTree(manifest.tree)
    const centroids = new CentroidTable(decodeLeafCentroids(decodeBase64(index.files[manifest.centroids.key])), tree, manifest.dims, workerDenseKernel())
    for (const c of parity.cases) {
      const query = queryVector(Float32Array.from(c.query))
      const sims = centroids.similarities(query)()
      expect(Array.from(tree.leaves, (leaf) => sims[leaf]), c.q).toEqual(c.centroidSim)
      expect(Array.from(tree.leaves, centroids.partSimilarity(query)), c.q).toEqual(c.partSim)
    }
  })

  it('scores every shard with the dense kernel to the same bits', () => {
    const shards = manifest.shards.map((entry) => decodeShard(decodeBase64(index.files[entry.key])))
    for (const c of parity.cases) {
      const query = queryVector(Float32Array.from(c.query))
      shards.forEach((shard, i) => {
        const scores = new Float64Array(shard.scales.length)
        workerDenseKernel().scoreRows(query, shard.vectors, shard.scales, scores)
        expect(Array.from(scores), `${c.q}, shard ${i}`).toEqual(c.dense[i])
      })
    }
  })
})
