// The benchmark's queries: one per line from a file, or pseudo-queries drawn
// from the corpus in one streaming pass (memory stays at the sample's size).
// Pseudo-queries are random word spans of randomly chosen documents, with a
// seed of their own: the build also trains on random spans of every document
// (it holds none out), so these are spans it did not pick, of documents it did see.

import { existsSync } from 'node:fs'
import { corpusLines } from '../build/corpus.ts'
import { createRng, randomInt, type Rng } from '../build/random.ts'
import { spanWords, type SpanWords } from '../build/pseudo-queries.ts'
import { cutQuery } from '../../src/core/query-text.ts'
import { readTextFile } from '../text-file.ts'

export interface BenchQuery {
  text: string
  /** The document a pseudo-query was drawn from. */
  fromDoc?: string
}

export function readQueryFile(path: string): BenchQuery[] {
  if (!existsSync(path)) throw new Error(`queries file not found: ${path}`)
  const queries = readTextFile(path)
    .split(/\r?\n/)
    .map((line) => cutQuery(line)) // the Worker refuses longer queries: every system gets the same cut text
    .filter((text) => text !== '')
    .map((text) => ({ text }))
  if (queries.length === 0) throw new Error(`${path}: no queries (one per line)`)
  return queries
}

/** The text of a corpus's lines, by the build's reader; blank lines and lines that are not UTF-8 are left out (the build reports those). */
export async function* documentLines(path: string): AsyncGenerator<string> {
  for await (const line of corpusLines(path)) if (line.text !== undefined && line.text.trim() !== '') yield line.text
}

export interface PseudoQueryOptions {
  count: number
  seed: number
  minWords: number
  maxWords: number
  /** Only these documents (by id): the ones the build held out of training. */
  from?: ReadonlySet<string>
}

export const DEFAULT_BENCH_QUERIES: Omit<PseudoQueryOptions, 'seed'> = { count: 200, minWords: 3, maxWords: 10 }

/** A seed for the queries that differs from the build's, derived from it so one `--seed` reproduces both. */
export const querySeedFor = (buildSeed: number) => (buildSeed ^ 0x5bd1e995) >>> 0

export interface SampledQueries {
  queries: BenchQuery[]
  /** Documents seen in the corpus pass. */
  docs: number
}

/** Reservoir-samples `count` documents (of `from`, when given) in one pass, then takes a random span of each. */
export async function samplePseudoQueries(lines: AsyncIterable<string> | Iterable<string>, options: PseudoQueryOptions): Promise<SampledQueries> {
  const rng = createRng(options.seed)
  const reservoir: { id: string; words: SpanWords }[] = []
  let docs = 0
  let eligible = 0
  for await (const line of lines) {
    let doc: { _id?: unknown; title?: unknown; text?: unknown }
    try {
      doc = JSON.parse(line)
    } catch {
      continue // the build reports bad lines; a sample does not need them
    }
    docs++
    if (options.from && !options.from.has(String(doc._id))) continue
    const i = eligible++
    const slot = i < options.count ? i : randomInt(rng, i + 1)
    if (slot >= options.count) continue
    const text = typeof doc.text === 'string' ? doc.text : ''
    const title = typeof doc.title === 'string' ? doc.title : ''
    let words = spanWords(text)
    if (words.count < options.minWords) words = spanWords(`${title} ${text}`)
    reservoir[slot] = { id: String(doc._id), words }
  }
  const queries = reservoir.filter((d) => d.words.count > 0).map((d) => ({ text: span(d.words, options, rng), fromDoc: d.id }))
  return { queries, docs }
}

function span(words: SpanWords, options: PseudoQueryOptions, rng: Rng): string {
  const length = Math.min(words.count, options.minWords + randomInt(rng, options.maxWords - options.minWords + 1))
  const start = randomInt(rng, words.count - length + 1)
  return cutQuery(words.text(start, start + length))
}
