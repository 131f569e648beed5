// The build's choice between LSA and trained document vectors: the held-out score it
// ranks them by, and the rule that picks one.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { buildIndex, DEFAULT_BUILD } from '../../scripts/build/build-index.ts'
import { analyzeCorpus, postingsFor } from '../../scripts/build/lexical-index.ts'
import { chooseVectors, heldOutScore, type ChoiceQuery, type VectorCandidate } from '../../scripts/build/vector-choice.ts'
import { nodeDenseKernel } from '../../scripts/node-kernel.ts'
import { createReporter } from '../../scripts/progress.ts'
import type { SparseFeatures } from '../../src/core/featurizer.ts'

const dims = 2
const texts = ['wing flutter', 'heat transfer', 'boundary layer', 'shock wave']
const lexical = analyzeCorpus(texts)
const pool = { docs: [0, 1, 2, 3], postings: postingsFor(lexical, [0, 1, 2, 3]), config: lexical.config }
const kernel = nodeDenseKernel()
const feature = (id: number): SparseFeatures => ({ ids: Int32Array.of(id), values: Float32Array.of(1) })
// Documents on the unit circle, at 0°, 30°, 60° and 90°.
const docVectors = Float32Array.from([0, 30, 60, 90].flatMap((deg) => [Math.cos((deg * Math.PI) / 180), Math.sin((deg * Math.PI) / 180)]))
/** A table whose bucket 0 maps a query to the direction `deg`. */
const candidate = (source: 'lsa' | 'trained', deg: number, vectors = docVectors): VectorCandidate => ({
  source,
  embedding: Float32Array.of(Math.cos((deg * Math.PI) / 180), Math.sin((deg * Math.PI) / 180)),
  docVectors: vectors,
})
// Asks for document 0 in words that match nothing.
const query: ChoiceQuery = { features: feature(0), text: 'zzz', doc: 0 }

describe('held-out score of a set of vectors', () => {
  it('is the reciprocal rank of the query’s own document by q·d', () => {
    expect(heldOutScore(candidate('lsa', 0), dims, pool, [query], [0], kernel).mrr10).toBe(1)
    // Pointing at 60°: document 2 first, then 1 and 3 (both 30° away), then document 0.
    expect(heldOutScore(candidate('lsa', 60), dims, pool, [query], [0], kernel).mrr10).toBeCloseTo(1 / 4, 12)
  })

  it('counts a document tied with the query’s own as ahead of it', () => {
    const twins = Float32Array.from([1, 0, 1, 0, 0, 1, 0, 1])
    expect(heldOutScore(candidate('lsa', 0, twins), dims, pool, [query], [0], kernel).mrr10).toBeCloseTo(1 / 2, 12)
  })

  it('fuses BM25 at the β that scores best', () => {
    // Document 3 is at 90° from the query, last by q·d; its words lift it to first.
    const asksFor3: ChoiceQuery = { features: feature(0), text: 'shock wave', doc: 3 }
    const dense = heldOutScore(candidate('trained', 0), dims, pool, [asksFor3], [0], kernel)
    const fused = heldOutScore(candidate('trained', 0), dims, pool, [asksFor3], [0, 0.5, 5], kernel)
    expect(dense.mrr10).toBeCloseTo(1 / 4, 12)
    expect(fused).toEqual({ source: 'trained', mrr10: 1, beta: 5 })
  })

  it('averages over queries, and a query whose document is outside the pool counts 0', () => {
    const outside: ChoiceQuery = { features: feature(0), text: 'zzz', doc: 9 }
    expect(heldOutScore(candidate('lsa', 0), dims, pool, [query, outside], [0], kernel).mrr10).toBe(0.5)
  })

  it('gives a rank past 10 nothing', () => {
    const many = Array.from({ length: 12 }, (_, i) => i)
    const crowd = Float32Array.from(many.flatMap((i) => (i === 0 ? [0, 1] : [1, 0])))
    const texts12 = many.map((i) => `doc ${i}`)
    const lex12 = analyzeCorpus(texts12)
    const pool12 = { docs: many, postings: postingsFor(lex12, many), config: lex12.config }
    expect(heldOutScore(candidate('lsa', 0, crowd), dims, pool12, [query], [0], kernel).mrr10).toBe(0)
  })
})

describe('choosing the vectors', () => {
  it('keeps the trained vectors only when they score strictly better', () => {
    expect(chooseVectors([{ source: 'lsa', mrr10: 0.5, beta: 1 }, { source: 'trained', mrr10: 0.6, beta: 1 }])).toBe('trained')
    expect(chooseVectors([{ source: 'lsa', mrr10: 0.6, beta: 1 }, { source: 'trained', mrr10: 0.5, beta: 1 }])).toBe('lsa')
    expect(chooseVectors([{ source: 'lsa', mrr10: 0.5, beta: 1 }, { source: 'trained', mrr10: 0.5, beta: 2 }])).toBe('lsa')
  })
})

describe('the build', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gdr-vectors-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const corpus = join(dir, 'corpus.jsonl')
  writeFileSync(corpus, readFileSync(new URL('../fixtures/tiny-corpus.jsonl', import.meta.url)))
  const build = (encoder: 'auto' | 'lsa' | 'trained', out: string) =>
    buildIndex({ ...DEFAULT_BUILD, corpus, out: join(dir, out), dims: 16, buckets: 1 << 10, leafSize: 6, epochs: 1, encoder }, createReporter(true))

  it('scores both candidates under auto and keeps the one it names; that index is the one a forced build of it makes', async () => {
    const auto = await build('auto', 'auto')
    expect(auto.vectors.scores.map((s) => s.source)).toEqual(['lsa', 'trained'])
    expect(auto.vectors.source).toBe(chooseVectors(auto.vectors.scores))
    const forced = await build(auto.vectors.source as 'lsa' | 'trained', 'forced')
    expect(forced.vectors).toEqual({ source: auto.vectors.source, scores: [] })
    expect(forced.manifest.model.sha256).toBe(auto.manifest.model.sha256)
    expect(forced.manifest.shards).toEqual(auto.manifest.shards)
  })

  it('keeps LSA without training when no held-out span query can be drawn', async () => {
    const shortCorpus = join(dir, 'short.jsonl')
    // One or two words a document: too short for a span query.
    writeFileSync(shortCorpus, Array.from({ length: 30 }, (_, i) => JSON.stringify({ _id: `d${i}`, text: i % 2 ? `word${i}` : `word${i} term${i}` })).join('\n') + '\n')
    const summary = await buildIndex({ ...DEFAULT_BUILD, corpus: shortCorpus, out: join(dir, 'short'), dims: 8, buckets: 1 << 8, leafSize: 6, epochs: 1 }, createReporter(true))
    expect(summary.vectors).toEqual({ source: 'lsa', scores: [] })
    expect(summary.seconds.encoder).toBeLessThan(1)
  })

  it('gives different document vectors when forced to the other candidate', async () => {
    const lsa = await build('lsa', 'lsa')
    const trained = await build('trained', 'trained')
    expect(trained.manifest.shards.map((s) => s.sha256)).not.toEqual(lsa.manifest.shards.map((s) => s.sha256))
  })
})
