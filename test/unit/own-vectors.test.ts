// A corpus that brings its own embeddings ("vector" per line): the index keeps
// them as its vector space and the query model learns to map text into it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildIndex, DEFAULT_BUILD } from '../../scripts/build/build-index.ts'
import { readCorpus } from '../../scripts/build/corpus.ts'
import { createReporter } from '../../scripts/progress.ts'
import { openIndexFolder, retrieve, runQueryModel, SYSTEMS } from '../../scripts/eval/systems.ts'
import { createRng, gaussian } from '../../scripts/build/random.ts'
import type { Manifest } from '../../src/core/manifest.ts'

const TINY = fileURLToPath(new URL('../fixtures/tiny-corpus.jsonl', import.meta.url))
const DIMS = 12
const dir = mkdtempSync(join(tmpdir(), 'gdr-own-vectors-'))
const docs = readFileSync(TINY, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { _id: string; title: string; text: string })
const topics = [...new Set(docs.map((d) => d._id.split('-')[0]))]

/** One direction per topic (the "astro" in "astro-3"), plus a little noise per document. */
function vectorOf(id: string, rng: () => number): number[] {
  const v = Array.from({ length: DIMS }, () => 0.1 * gaussian(rng))
  v[topics.indexOf(id.split('-')[0])] += 1
  return v
}

let manifest: Manifest
let provided: Map<string, number[]>

beforeAll(async () => {
  const rng = createRng(5)
  provided = new Map(docs.map((d) => [d._id, vectorOf(d._id, rng)]))
  const corpus = join(dir, 'with-vectors.jsonl')
  writeFileSync(corpus, docs.map((d) => JSON.stringify({ ...d, vector: provided.get(d._id) })).join('\n') + '\n')
  ;({ manifest } = await buildIndex({ ...DEFAULT_BUILD, corpus, out: join(dir, 'index'), buckets: 1 << 12, leafSize: 6, epochs: 3 }, createReporter(true)))
}, 120_000)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('a corpus with its own vectors', () => {
  it('keeps their dimensions and directions as the document vectors', async () => {
    expect(manifest.dims).toBe(DIMS)
    const index = await openIndexFolder(join(dir, 'index'))
    for (const [node, shard] of index.shards) {
      index.displays.get(node)!.ids.forEach((id, row) => {
        const stored = Array.from(shard.vectors.subarray(row * DIMS, (row + 1) * DIMS), (x) => x * shard.scales[row])
        const given = provided.get(id)!
        const cos = stored.reduce((s, x, j) => s + x * given[j], 0) / (Math.hypot(...stored) * Math.hypot(...given))
        expect(cos, id).toBeGreaterThan(0.99)
      })
    }
  })

  it('maps queries into that space: a query about a topic lands among its documents', async () => {
    const index = await openIndexFolder(join(dir, 'index'))
    let first = 0
    let sameTopic = 0
    for (const doc of docs) {
      const outputs = runQueryModel(index, doc.title)
      const dense = retrieve(index, outputs, SYSTEMS.exactDense, { kind: 'default' }, 6).ids
      sameTopic += dense.filter((id) => id.split('-')[0] === doc._id.split('-')[0]).length / 6
      if (retrieve(index, outputs, SYSTEMS.gdr, { kind: 'default' }, 1).ids[0] === doc._id) first++
    }
    // Dense alone can only tell the topic here (chance: 1 in 6); the lexical term then finds the document.
    expect(sameTopic / docs.length).toBeGreaterThan(0.6)
    expect(first).toBe(docs.length)
  })
})

describe('the "vector" field in the corpus reader', () => {
  it('must be on every line or none, with one size', async () => {
    const mixed = join(dir, 'mixed.jsonl')
    writeFileSync(mixed, ['{"_id": "a", "text": "x", "vector": [1, 2]}', '{"_id": "b", "text": "y"}', '{"_id": "c", "text": "z", "vector": [1, 2, 3]}'].join('\n'))
    await expect(readCorpus(mixed)).rejects.toThrow(/mixed\.jsonl:2: no "vector", but a "vector" of 2 numbers in the first document \(line 1\)/)
    const { docs: kept, skipped } = await readCorpus(mixed, { skipBad: true })
    expect(kept.map((d) => d.id)).toEqual(['a'])
    expect(skipped).toBe(2)
    const late = join(dir, 'late.jsonl')
    writeFileSync(late, ['{"_id": "a", "text": "x"}', '{"_id": "b", "text": "y", "vector": [1]}'].join('\n'))
    await expect(readCorpus(late)).rejects.toThrow(/late\.jsonl:2: a "vector" of 1 number, but no "vector" in the first document \(line 1\)/)
  })
})
