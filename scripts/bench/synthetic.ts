// A synthetic corpus with realistic cluster structure, to benchmark at scales
// beyond the real corpora: a topic model over pronounceable pseudo-words.
// Each topic has its own Zipfian vocabulary, drawn from a shared word list with a
// global Zipfian popularity (so common words recur across topics, as in real
// text); topics themselves have Zipfian sizes. A document mixes one to three
// topics with English glue words, is 10–60 words long (like an npm package
// description) and has a hyphenated title of its main topic's top words (like a
// package name). Deterministic by seed; generated one document at a time, so
// memory does not grow with the corpus.

import { createWriteStream, renameSync, rmSync } from 'node:fs'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGzip } from 'node:zlib'
import { createRng, randomInt, type Rng } from '../build/random.ts'

export interface SyntheticOptions {
  docs: number
  seed: number
  /** Topics (latent clusters); default grows as √docs, 16 to 1,024. */
  topics?: number
  /** Size of the shared pseudo-word list. */
  vocabulary?: number
}

export interface SyntheticDoc {
  _id: string
  title: string
  text: string
  /** Topics mixed in, main one first (not written to the corpus file). */
  topics: number[]
}

export const SYNTHETIC_SHAPE = {
  vocabulary: 30_000,
  wordsPerTopic: 300,
  minWords: 10,
  maxWords: 60,
  /** Share of a document's words that are glue words rather than topic words. */
  glueShare: 0.3,
  /** Zipf exponents: words within a topic, word popularity across topics, topic sizes. */
  topicZipf: 0.9,
  globalZipf: 1.0,
  topicSizeZipf: 0.7,
  /** Probability of mixing in 1, 2 or 3 topics, and the weight of each. */
  mixCounts: [0.6, 0.3, 0.1],
  mixWeights: [1, 0.35, 0.15],
} as const

export function defaultTopics(docs: number): number {
  return Math.max(16, Math.min(1024, Math.round(Math.sqrt(docs))))
}

// Common English words of package descriptions: the part of the text that carries no topic.
const GLUE = 'a the for and with to of in your that is from on by an as or simple fast small tiny library module tool using based plugin support easy lightweight minimal wrapper utility utilities helper helpers api cli client server framework components'.split(' ')

const ONSETS = ['b', 'c', 'd', 'f', 'g', 'h', 'j', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'w', 'z', 'br', 'cr', 'dr', 'fl', 'gr', 'pl', 'pr', 'sk', 'sl', 'st', 'tr', 'ch', 'sh', 'th', '']
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'ai', 'ea', 'ou', 'io', 'y']
const CODAS = ['', '', '', 'n', 'r', 's', 'l', 'x', 'm', 't', 'nd', 'st']

/** `count` distinct pronounceable pseudo-words of one to three syllables, shortest first. */
export function pseudoWords(count: number, rng: Rng): string[] {
  const words = new Set<string>()
  const pick = (list: readonly string[]) => list[randomInt(rng, list.length)]
  while (words.size < count) {
    const u = rng()
    const syllables = u < 0.35 ? 1 : u < 0.8 ? 2 : 3
    let word = ''
    for (let s = 0; s < syllables; s++) word += pick(ONSETS) + pick(VOWELS) + pick(CODAS)
    // Real words in the glue list would blur the topic signal.
    if (word.length >= 3 && !GLUE.includes(word)) words.add(word)
  }
  // Frequent words are short (Zipf's law of abbreviation): popularity rank follows length.
  return [...words].sort((a, b) => a.length - b.length)
}

/** Cumulative Zipf weights of ranks 0..n-1 (1/(r+1)^s), for sampling by binary search. */
export function zipfCdf(n: number, exponent: number): Float64Array {
  const cdf = new Float64Array(n)
  let sum = 0
  for (let r = 0; r < n; r++) cdf[r] = sum += 1 / (r + 1) ** exponent
  for (let r = 0; r < n; r++) cdf[r] /= sum
  return cdf
}

export function sampleCdf(cdf: Float64Array, rng: Rng): number {
  const u = rng()
  let lo = 0
  let hi = cdf.length - 1
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (cdf[mid] < u) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** The corpus generator: the topic model is fixed at construction, documents come one by one in order. */
export class SyntheticCorpus {
  readonly topicCount: number
  /** Each topic's words, most frequent first. */
  readonly topicWords: string[][]
  private readonly rng: Rng
  private readonly topicCdf: Float64Array
  private readonly wordCdf: Float64Array
  private readonly glueCdf: Float64Array
  private produced = 0

  constructor(readonly options: SyntheticOptions) {
    if (!Number.isInteger(options.docs) || options.docs < 1) throw new Error(`docs must be a positive integer, not ${options.docs}`)
    this.rng = createRng(options.seed)
    this.topicCount = options.topics ?? defaultTopics(options.docs)
    const words = pseudoWords(options.vocabulary ?? SYNTHETIC_SHAPE.vocabulary, this.rng)
    const popularity = zipfCdf(words.length, SYNTHETIC_SHAPE.globalZipf)
    const perTopic = Math.min(SYNTHETIC_SHAPE.wordsPerTopic, words.length)
    this.topicWords = Array.from({ length: this.topicCount }, () => {
      const chosen = new Set<string>()
      while (chosen.size < perTopic) chosen.add(words[sampleCdf(popularity, this.rng)])
      // Popular words would otherwise always lead a topic: shuffle so each topic has its own head words.
      const list = [...chosen]
      for (let i = list.length - 1; i > 0; i--) {
        const j = randomInt(this.rng, i + 1)
        ;[list[i], list[j]] = [list[j], list[i]]
      }
      return list
    })
    this.topicCdf = zipfCdf(this.topicCount, SYNTHETIC_SHAPE.topicSizeZipf)
    this.wordCdf = zipfCdf(perTopic, SYNTHETIC_SHAPE.topicZipf)
    this.glueCdf = zipfCdf(GLUE.length, 1)
  }

  /** The next document, or undefined after `docs` of them. */
  next(): SyntheticDoc | undefined {
    if (this.produced >= this.options.docs) return undefined
    const rng = this.rng
    const i = this.produced++
    const topics = this.mixture()
    const weights = SYNTHETIC_SHAPE.mixWeights.slice(0, topics.length)
    const total = weights.reduce((a, b) => a + b, 0)
    // Short descriptions are the most common: 10 + 50·u² words.
    const length = SYNTHETIC_SHAPE.minWords + Math.floor((SYNTHETIC_SHAPE.maxWords - SYNTHETIC_SHAPE.minWords + 1) * rng() ** 2)
    const words: string[] = []
    for (let w = 0; w < length; w++) {
      if (rng() < SYNTHETIC_SHAPE.glueShare) {
        words.push(GLUE[sampleCdf(this.glueCdf, rng)])
        continue
      }
      let u = rng() * total
      let t = 0
      while (t < topics.length - 1 && (u -= weights[t]) >= 0) t++
      words.push(this.topicWords[topics[t]][sampleCdf(this.wordCdf, rng)])
    }
    return { _id: `syn-${i}`, title: this.title(topics[0]), text: sentences(words, rng), topics }
  }

  *[Symbol.iterator](): Generator<SyntheticDoc> {
    for (let doc = this.next(); doc; doc = this.next()) yield doc
  }

  /** One to three distinct topics, the main one first; popular topics are drawn more often. */
  private mixture(): number[] {
    const u = this.rng()
    const [p1, p2] = SYNTHETIC_SHAPE.mixCounts
    const count = Math.min(this.topicCount, u < p1 ? 1 : u < p1 + p2 ? 2 : 3)
    const topics: number[] = []
    while (topics.length < count) {
      const t = sampleCdf(this.topicCdf, this.rng)
      if (!topics.includes(t)) topics.push(t)
    }
    return topics
  }

  /** Two or three of the topic's frequent words, hyphenated like a package name. */
  private title(topic: number): string {
    const words = this.topicWords[topic]
    const parts = [words[randomInt(this.rng, 5)], words[5 + randomInt(this.rng, 25)]]
    if (this.rng() < 0.3) parts.push(words[30 + randomInt(this.rng, words.length - 30)])
    return parts.join('-')
  }
}

/** Words → sentences of 6 to 20 words, capitalized, each ending with a period. */
function sentences(words: string[], rng: Rng): string {
  const out: string[] = []
  for (let start = 0; start < words.length; ) {
    const end = Math.min(words.length, start + 6 + randomInt(rng, 15))
    const sentence = words.slice(start, end).join(' ')
    out.push(sentence[0].toUpperCase() + sentence.slice(1) + '.')
    start = end
  }
  return out.join(' ')
}

/** One corpus line, in the build's format. */
export function corpusLine(doc: SyntheticDoc): string {
  return JSON.stringify({ _id: doc._id, title: doc.title, text: doc.text })
}

export interface GenerationSummary {
  path: string
  docs: number
  topics: number
  /** Uncompressed JSONL bytes. */
  bytes: number
  seconds: number
}

const LINES_PER_CHUNK = 1000

/**
 * Streams the corpus to `path` (gzipped when it ends in .gz). Written to a
 * temporary name and renamed at the end, so a file at `path` is always complete.
 */
export async function writeSyntheticCorpus(path: string, options: SyntheticOptions, onProgress?: (docs: number) => void): Promise<GenerationSummary> {
  const started = performance.now()
  const corpus = new SyntheticCorpus(options)
  let docs = 0
  let bytes = 0
  async function* chunks() {
    let lines: string[] = []
    for (const doc of corpus) {
      lines.push(corpusLine(doc))
      docs++
      if (lines.length === LINES_PER_CHUNK) {
        const chunk = lines.join('\n') + '\n'
        bytes += Buffer.byteLength(chunk)
        lines = []
        onProgress?.(docs)
        yield chunk
      }
    }
    if (lines.length) {
      const chunk = lines.join('\n') + '\n'
      bytes += Buffer.byteLength(chunk)
      yield chunk
    }
  }
  const temporary = `${path}.tmp-${process.pid}`
  try {
    const sink = createWriteStream(temporary)
    if (path.endsWith('.gz')) await pipeline(Readable.from(chunks()), createGzip({ level: 6 }), sink)
    else await pipeline(Readable.from(chunks()), sink)
    renameSync(temporary, path)
  } catch (error) {
    rmSync(temporary, { force: true })
    throw error
  }
  return { path, docs, topics: corpus.topicCount, bytes, seconds: (performance.now() - started) / 1000 }
}
