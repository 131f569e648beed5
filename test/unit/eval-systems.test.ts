// exact, ivf and the decoder routing of `gdr eval`, computed in Node from a real
// (tiny) index folder: exact is brute force, every router reads exactly its budget,
// and scores are the Worker's int8 dot products.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildIndex, DEFAULT_BUILD, HELD_OUT_FILE, heldOutDocCount } from '../../scripts/build/build-index.ts'
import { createReporter } from '../../scripts/progress.ts'
import { conditionalLogProbs, pathLogProbs } from '../../src/core/beam.ts'
import { displayBytes, lexiconBytes, nearestCentroids, openIndexFolder, probedBytes, retrieve, route, runQueryModel, SYSTEMS, type IndexFolder, type QueryOutputs } from '../../scripts/eval/systems.ts'
import { searchForK } from '../../src/core/search.ts'
import { DEFAULT_EVAL, scoreSystems, type PerQuery } from '../../scripts/eval/eval.ts'

const CORPUS = fileURLToPath(new URL('../fixtures/tiny-corpus.jsonl', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'gdr-eval-systems-'))
let index: IndexFolder
const queries = ['black hole event horizon', 'How do I bake Sourdough?', 'tcp congestion control', 'the']
const outputs: QueryOutputs[] = []

beforeAll(async () => {
  const out = join(dir, 'tiny')
  await buildIndex({ ...DEFAULT_BUILD, corpus: CORPUS, out, dims: 32, buckets: 1 << 12, leafSize: 6, epochs: 3, probeDocs: 12 }, createReporter(true))
  index = await openIndexFolder(out)
  for (const q of queries) outputs.push(await runQueryModel(index, q))
}, 120_000)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Every document's dense score, by brute force over the shards. */
function bruteForce(query: Float32Array): { id: string; score: number }[] {
  const all: { id: string; score: number }[] = []
  for (const [node, shard] of index.shards) {
    index.displays.get(node)!.ids.forEach((id, row) => {
      let dot = 0
      for (let d = 0; d < shard.dims; d++) dot += query[d] * shard.vectors[row * shard.dims + d]
      all.push({ id, score: dot * shard.scales[row] })
    })
  }
  return all.sort((a, b) => b.score - a.score)
}

describe('eval systems on an index folder', () => {
  it('loads every shard and the index\'s centroid of every leaf', () => {
    expect(index.leaves.length).toBeGreaterThan(2)
    expect([...index.displays.values()].reduce((n, s) => n + s.ids.length, 0)).toBe(index.manifest.docs)
    expect(index.leafOf.size).toBe(index.manifest.docs)
    for (const [node, shard] of index.shards) expect(shard.scales.length).toBe(index.displays.get(node)!.ids.length)
    const sims = index.leafCentroids.similarities(outputs[0].query)()
    for (const leaf of index.tree.leaves) expect(Number.isFinite(sims[leaf])).toBe(true)
    expect(outputs[0].query.length).toBe(index.manifest.dims)
    expect(Math.hypot(...outputs[0].query)).toBeCloseTo(1, 5)
  })

  it('the build lists the documents it held out of training: distinct ids of the corpus', () => {
    const heldOut: string[] = JSON.parse(readFileSync(join(index.dir, HELD_OUT_FILE), 'utf8'))
    const ids = new Set(index.leafOf.keys())
    expect(heldOut).toHaveLength(heldOutDocCount(index.manifest.docs))
    expect(new Set(heldOut).size).toBe(heldOut.length)
    for (const id of heldOut) expect(ids.has(id)).toBe(true)
    expect(heldOutDocCount(1_000_000)).toBe(500)
  })

  it('exact-dense is brute force over every document vector', () => {
    for (const o of outputs) {
      const exact = retrieve(index, o, SYSTEMS.exactDense, { kind: 'default' }, 10)
      const brute = bruteForce(o.query).slice(0, 10)
      expect(exact.scores).toEqual(brute.map((b) => expect.closeTo(b.score, 9)))
      expect(exact.probed.length).toBe(index.leaves.length)
    }
  })

  it('ivf reads exactly n leaves, nearest centroids first; all leaves give exact', () => {
    for (const o of outputs) {
      for (const n of [1, 2, index.leaves.length]) {
        const r = retrieve(index, o, SYSTEMS.ivf, { kind: 'shards', shards: n }, 100)
        expect(r.probed).toEqual(nearestCentroids(index, o.centroidSims(), n))
        // The n leaves whose centroids are nearest, nearest first: none left out is nearer.
        const sims = r.probed.map((node) => o.centroidSims()[node])
        for (let i = 1; i < sims.length; i++) expect(sims[i]).toBeLessThanOrEqual(sims[i - 1])
        for (const node of index.leaves) if (!r.probed.includes(node)) expect(o.centroidSims()[node]).toBeLessThanOrEqual(sims[sims.length - 1])
        const readIds = new Set(r.probed.flatMap((node) => index.displays.get(node)!.ids))
        expect(r.ids.every((id) => readIds.has(id))).toBe(true)
      }
      const all = retrieve(index, o, SYSTEMS.ivf, { kind: 'shards', shards: index.leaves.length }, 100)
      expect(all.scores).toEqual(retrieve(index, o, SYSTEMS.exact, { kind: 'default' }, 100).scores)
    }
  })

  it('scores do not depend on routing: decoder and centroid routing over every leaf give exact, for each scoring', () => {
    for (const o of outputs) {
      for (const [decoder, centroid, exact] of [[SYSTEMS.gdr, SYSTEMS.ivf, SYSTEMS.exact], [SYSTEMS.gdrHybrid, SYSTEMS.ivfHybrid, SYSTEMS.exactHybrid], [SYSTEMS.gdrDense, SYSTEMS.ivfDense, SYSTEMS.exactDense]]) {
        const all = { kind: 'shards', shards: index.leaves.length } as const
        const reference = retrieve(index, o, exact, { kind: 'default' }, 100, 0.5)
        const everyDoc = retrieve(index, o, exact, { kind: 'default' }, index.manifest.docs, 0.5)
        const exactScore = new Map(everyDoc.ids.map((id, i) => [id, everyDoc.scores[i]]))
        for (const system of [decoder, centroid]) {
          const r = retrieve(index, o, system, all, 100, 0.5)
          expect(r.ids).toEqual(reference.ids)
          expect(r.scores).toEqual(reference.scores.map((x) => expect.closeTo(x, 12)))
          // Reading fewer leaves finds fewer documents, each with the score brute force gives it.
          const few = retrieve(index, o, system, { kind: 'shards', shards: 2 }, 100, 0.5)
          few.ids.forEach((id, i) => expect(few.scores[i]).toBeCloseTo(exactScore.get(id)!, 12))
        }
      }
    }
  })

  it('decoder routing reads exactly n leaves of the beam; the default budget follows the manifest, deeper for a larger k', () => {
    for (const o of outputs) {
      const wide = route(index, o, 'decoder', { kind: 'shards', shards: index.leaves.length }, 10)
      expect(new Set(wide.map((p) => p.node)).size).toBe(index.leaves.length)
      for (const n of [1, 3]) expect(route(index, o, 'decoder', { kind: 'shards', shards: n }, 10).length).toBe(n)
      for (const k of [10, 40]) {
        const budget = searchForK(index.manifest, k).probeDocs
        const byDefault = route(index, o, 'decoder', { kind: 'default' }, k)
        const covered = byDefault.reduce((s, p) => s + index.entries.get(p.node)!.docs, 0)
        const lastDocs = index.entries.get(byDefault[byDefault.length - 1].node)!.docs
        expect(covered - lastDocs).toBeLessThan(budget) // stops once the budget is covered
        expect(covered >= budget || byDefault.length === index.leaves.length).toBe(true) // and reads until it is
        expect(probedBytes(index, byDefault.map((p) => p.node))).toBe(byDefault.reduce((s, p) => s + index.entries.get(p.node)!.bytes, 0))
      }
    }
  })

  it('every system that scores or routes lexically is charged the query terms\' lexicon parts; dense-only systems none', () => {
    // BM25's corpus idf comes from those parts, so ivf and exact read them as gdr does.
    const denseOnly = new Set(['ivf-dense', 'exact-dense'])
    expect(lexiconBytes(index, outputs[0].terms)).toBeGreaterThan(0)
    for (const o of outputs) {
      for (const system of Object.values(SYSTEMS)) {
        const r = retrieve(index, o, system, system.routing === 'centroid' ? { kind: 'shards', shards: 2 } : { kind: 'default' }, 100)
        const lexicon = denseOnly.has(system.name) ? 0 : lexiconBytes(index, o.terms)
        expect(r.bytes, system.name).toBe(probedBytes(index, r.probed) + displayBytes(index, r.ids) + lexicon)
      }
    }
  })

  it('exact is charged alike in the main table and the ablation: every shard, its results\' display objects, the lexicon parts', () => {
    const perQuery: PerQuery[] = outputs.map((o, i) => {
      const exact = retrieve(index, o, SYSTEMS.exact, { kind: 'default' }, 100)
      return { id: `q${i}`, judged: new Map(exact.ids.slice(0, 3).map((id) => [id, 1])), outputs: o, exact }
    })
    const gdr = outputs.map((o) => retrieve(index, o, SYSTEMS.gdr, { kind: 'default' }, 100))
    const { systems, ablation } = scoreSystems(index, perQuery, gdr, perQuery.map((q) => q.exact.ids), { ...DEFAULT_EVAL, ablation: true })
    const read = perQuery.map((q) => probedBytes(index, index.leaves) + displayBytes(index, q.exact.ids) + lexiconBytes(index, q.outputs.terms))
    const mean = read.reduce((a, b) => a + b, 0) / read.length
    expect(systems.exact.bytesPerQuery).toBeCloseTo(mean, 6)
    expect(systems.exact.shardsFrac).toBe(1)
    expect(ablation!.find((r) => r.system === 'exact')!.metrics.bytesPerQuery).toBe(systems.exact.bytesPerQuery)
  })

  it('fused scoring adds α·p(cluster); leaf probabilities over the whole tree sum to 1', () => {
    const o = outputs[0]
    const leafLogProbs = pathLogProbs(index.tree, conditionalLogProbs(index.tree, o.logits))
    const total = index.leaves.reduce((s, node) => s + Math.exp(leafLogProbs[node]), 0)
    expect(total).toBeCloseTo(1, 5)
    const probes = route(index, o, 'all', { kind: 'default' }, 100)
    expect(probes.reduce((s, p) => s + p.prob, 0)).toBeCloseTo(1, 6)
    const dense = retrieve(index, o, SYSTEMS.exact, { kind: 'default' }, 100, 0)
    const fused = retrieve(index, o, SYSTEMS.exact, { kind: 'default' }, 100, 0.5)
    const { leafOf } = index
    const prob = new Map(probes.map((p) => [p.node, p.prob]))
    const denseScore = new Map(dense.ids.map((id, i) => [id, dense.scores[i]]))
    fused.ids.forEach((id, i) => expect(fused.scores[i]).toBeCloseTo(denseScore.get(id)! + 0.5 * prob.get(leafOf.get(id)!)!, 9))
  })
})
