// Runs in Node before the workerd tests: builds a real index (the whole `gdr build`
// path) from a small committed corpus, and computes in Node what workerd must
// reproduce exactly: featurizer output, the query model's outputs (the same runtime
// on the same ONNX file), the leaf centroid similarities and the dense kernel's scores.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { TestProject } from 'vitest/node'
import { buildIndex, DEFAULT_BUILD } from '../../scripts/build/build-index.ts'
import { createReporter } from '../../scripts/progress.ts'
import { featurize } from '../../src/core/featurizer.ts'
import { QueryModelRuntime } from '../../src/core/query-runtime.ts'
import { queryVector } from '../../src/core/search.ts'
import { decodeLeafCentroids, decodeShard } from '../../src/core/shard-codec.ts'
import { CentroidTable } from '../../src/core/centroids.ts'
import { buildTree } from '../../src/core/tree.ts'
import { nodeDenseKernel } from '../../scripts/node-kernel.ts'
import { PARITY_QUERIES, type ProvidedIndex, type ProvidedParity } from './fixtures.ts'

const CORPUS = fileURLToPath(new URL('../fixtures/tiny-corpus.jsonl', import.meta.url))

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listFiles(join(dir, entry.name)) : [join(dir, entry.name)],
  )
}

export default async function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), 'gdr-test-index-'))
  const out = join(dir, 'tiny')
  try {
    const { manifest } = await buildIndex(
      { ...DEFAULT_BUILD, corpus: CORPUS, out, dims: 32, buckets: 1 << 12, leafSize: 6, epochs: 3, probeDocs: 12 },
      createReporter(true),
    )
    const files = Object.fromEntries(listFiles(out).map((file) => [relative(out, file), readFileSync(file).toString('base64')]))
    const titles = Object.fromEntries(
      readFileSync(CORPUS, 'utf8').trim().split('\n').map((line) => JSON.parse(line)).map((doc) => [doc._id, doc.title]),
    )
    const index: ProvidedIndex = { name: manifest.name, version: manifest.version, titles, files }
    project.provide('tinyIndex', index)

    const model = new QueryModelRuntime(new Uint8Array(readFileSync(join(out, manifest.model.key))), nodeDenseKernel())
    const parity: ProvidedParity = { cases: [] }
    const shards = manifest.shards.map((entry) => decodeShard(readFileSync(join(out, entry.key))))
    const tree = buildTree(manifest.tree)
    const centroids = new CentroidTable(decodeLeafCentroids(readFileSync(join(out, manifest.centroids.key))), tree, manifest.dims, nodeDenseKernel())
    for (const q of PARITY_QUERIES) {
      const f = featurize(q, manifest.featurizer)
      const outputs = model.run(f)
      const query = queryVector(outputs.query)
      const sims = centroids.similarities(query)()
      parity.cases.push({
        q,
        ids: Array.from(f.ids),
        values: Array.from(f.values),
        query: Array.from(outputs.query),
        logits: Array.from(outputs.logits),
        centroidSim: Array.from(tree.leaves, (leaf) => sims[leaf]),
        partSim: Array.from(tree.leaves, centroids.partSimilarity(query)),
        dense: shards.map((shard) => {
          const scores = new Float64Array(shard.scales.length)
          nodeDenseKernel().scoreRows(query, shard.vectors, shard.scales, scores)
          return Array.from(scores)
        }),
      })
    }
    project.provide('parity', parity)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
