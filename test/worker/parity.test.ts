// The Worker path and the build path must never disagree: the featurizer, the
// query model (its runtime on the ONNX file), the leaf centroids and the dense
// kernel give the same numbers in workerd as in Node.
import { env } from 'cloudflare:workers'
import { describe, expect, inject, it } from 'vitest'
import { featurize } from '../../src/core/featurizer.ts'
import { QueryModelRuntime } from '../../src/core/query-runtime.ts'
import { queryVector } from '../../src/core/search.ts'
import { decodeLeafCentroids, decodeShard } from '../../src/core/shard-codec.ts'
import { CentroidTable } from '../../src/core/centroids.ts'
import { buildTree } from '../../src/core/tree.ts'
import { workerDenseKernel } from '../../src/worker/kernel.ts'
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

  it('runs the int8 ONNX model to the same bits, an empty query included', () => {
    expect(env.INDEX).toBeDefined()
    const model = new QueryModelRuntime(decodeBase64(index.files[manifest.model.key]), workerDenseKernel())
    for (const c of parity.cases) {
      const outputs = model.run({ ids: Int32Array.from(c.ids), values: Float32Array.from(c.values) })
      expect(Array.from(outputs.query), c.q).toEqual(c.query)
      expect(Array.from(outputs.logits), c.q).toEqual(c.logits)
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
