// The lexical term: BM25 over stemmed words, scored inside the probed clusters.
// Terms are hashed to 32 bits (no vocabulary to ship); each shard carries its own
// postings and the global idf of its terms. The lexicon (corpus-wide, split into
// parts by term hash) carries every term's idf and top postings: a query reads
// only its own terms' parts, for the BM25 normalizer and for lexical routing.

import stem from 'wink-porter2-stemmer'
import { hashString } from './featurizer.ts'
import { forEachWord, normalizeText } from './words.ts'
import { align16, bufferOf, instantiateKernel } from './wasm-memory.ts'
import type { LexicalConfig } from './manifest.ts'

/**
 * NLTK's English stopwords (the apostrophe forms left out: the tokenizer splits
 * "don't" into "don", "t", both listed). With Porter2 stems this BM25 lands within
 * ±0.007 of the reference BM25 numbers; Lucene's 33-word list lands 0.01–0.02 lower.
 */
export const ENGLISH_STOPWORDS: ReadonlySet<string> = new Set(
  (
    'i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her hers herself ' +
    'it its itself they them their theirs themselves what which who whom this that these those am is are was were be ' +
    'been being have has had having do does did doing a an the and but if or because as until while of at by for with ' +
    'about against between into through during before after above below to from up down in out on off over under again ' +
    'further then once here there when where why how all any both each few more most other some such no nor not only own ' +
    'same so than too very s t can will just don should now d ll m o re ve y ain aren couldn didn doesn hadn hasn haven ' +
    'isn ma mightn mustn needn shan shouldn wasn weren won wouldn'
  ).split(' '),
)

// Stemming dominates analysis; words repeat, so remember their stems (bounded).
const stems = new Map<string, string>()
function cachedStem(word: string): string {
  let s = stems.get(word)
  if (s === undefined) {
    if (stems.size > 100_000) stems.clear()
    stems.set(word, (s = stem(word)))
  }
  return s
}

const MAX_TERMS = 1024

/** The English analyzer: the text's words (words.ts: NFKC, lowercase, CJK bigrams), stopwords out, Porter2 stems. Never throws. */
export function words(text: string): string[] {
  const out: string[] = []
  forEachWord(normalizeText(text), (word) => {
    word = word.slice(0, 64)
    if (!ENGLISH_STOPWORDS.has(word)) out.push(cachedStem(word))
    return out.length < MAX_TERMS * 8
  })
  return out
}

/** Stemmed, hashed terms of a text, in order, repeats kept. */
export function analyze(text: string, config: LexicalConfig): number[] {
  return words(text).map((word) => hashString(word, config.seed))
}

/** Term → count, for a query (repeats add weight, as in BM25). */
export function termCounts(terms: number[]): Map<number, number> {
  const counts = new Map<number, number>()
  for (const t of terms) counts.set(t, (counts.get(t) ?? 0) + 1)
  return counts
}

export function inverseDocumentFrequency(docs: number, df: number): number {
  return Math.log(1 + (docs - df + 0.5) / (df + 0.5))
}

/** BM25's document side, tf·(k1+1) / (tf + k1·(1 − b + b·len/avgLen)), in [0, k1+1). */
export function termWeight(tf: number, length: number, config: LexicalConfig): number {
  const norm = config.k1 * (1 - config.b + (config.b * length) / Math.max(config.avgDocLength, 1e-9))
  return (tf * (config.k1 + 1)) / (tf + norm)
}

/** A shard's postings: sorted term hashes, each with its global idf and (row, weight) postings. */
export interface ShardPostings {
  terms: Uint32Array
  idf: Float32Array
  /** postingStart[i]..postingStart[i+1] are term i's postings. */
  postingStart: Uint32Array
  rows: Uint32Array
  /** termWeight quantized to 0..255 over [0, k1 + 1]. */
  weights: Uint8Array
}

export function quantizeWeight(weight: number, config: LexicalConfig): number {
  return Math.max(1, Math.min(255, Math.round((weight / (config.k1 + 1)) * 255)))
}

export function dequantizeWeight(q: number, config: LexicalConfig): number {
  return (q / 255) * (config.k1 + 1)
}

/**
 * dequantizeWeight of all 256 bytes, the same values: the hot loops look weights
 * up instead of dividing. Kept per k1 (an index has one).
 */
export function weightTable(config: LexicalConfig): Float64Array {
  let table = weightTables.get(config.k1)
  if (!table) {
    table = Float64Array.from({ length: 256 }, (_, q) => dequantizeWeight(q, config))
    if (weightTables.size >= 8) weightTables.clear()
    weightTables.set(config.k1, table)
  }
  return table
}
const weightTables = new Map<number, Float64Array>()

function findTerm(terms: Uint32Array, term: number): number {
  let lo = 0
  let hi = terms.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    const t = terms[mid]
    if (t === term) return mid
    if (t < term) lo = mid + 1
    else hi = mid - 1
  }
  return -1
}

/** Each query term with the first of `sources` that holds it and its index there, in query order; terms none holds are left out. */
function locateTerms<S extends ShardPostings>(query: ReadonlyMap<number, number>, sources: readonly S[]): { term: number; count: number; source: S; i: number }[] {
  const found: { term: number; count: number; source: S; i: number }[] = []
  for (const [term, count] of query) {
    for (const source of sources) {
      const i = findTerm(source.terms, term)
      if (i >= 0) {
        found.push({ term, count, source, i })
        break
      }
    }
  }
  return found
}

/** The idf of each query term as known to these shards (absent terms are left out). */
export function queryIdf(query: ReadonlyMap<number, number>, shards: ShardPostings[]): Map<number, number> {
  return new Map(locateTerms(query, shards).map(({ term, source, i }) => [term, source.idf[i]]))
}

/**
 * Adds `scale` × BM25 of every document of a shard into `out` (indexed by row).
 * With scale = 1 / Σ idf·(k1+1) the lexical score lies in [0, 1], like the dense one.
 */
export function addLexicalScores(query: Map<number, number>, shard: ShardPostings, scale: number, config: LexicalConfig, out: Float32Array): void {
  const weightOf = weightTable(config)
  for (const [term, count] of query) {
    const i = findTerm(shard.terms, term)
    if (i < 0) continue
    const factor = scale * count * shard.idf[i]
    for (let p = shard.postingStart[i]; p < shard.postingStart[i + 1]; p++) {
      out[shard.rows[p]] += factor * weightOf[shard.weights[p]]
    }
  }
}

/** The largest BM25 a document could reach for this query: the normalizer. */
export function maxLexicalScore(query: Map<number, number>, idf: Map<number, number>, config: LexicalConfig): number {
  let max = 0
  for (const [term, count] of query) max += count * (idf.get(term) ?? 0) * (config.k1 + 1)
  return max
}

/**
 * One part of the corpus-wide lexicon: like a shard's postings, but each term keeps
 * only its highest-weighted postings across the whole corpus, and each posting
 * names its leaf as well as its row there.
 */
export interface LexiconPart extends ShardPostings {
  /** Leaf node of each posting (parallel to rows and weights). */
  leaves: Uint32Array
}

/**
 * Lexical routing over one loaded index: each leaf's best document by the query
 * terms' lexicon postings. The lexicon keeps each term's postings in (leaf, row)
 * order (checked when a part is decoded), so the terms' lists are merged leaf by
 * leaf and a document's sum lives in a leaf-sized array that stays in cache.
 * Summing into one float64 per document of the corpus instead took 2.2 ms a query
 * at 1M synthetic documents (8 MB touched at random, 35,672 postings), merged
 * 0.7 ms (.tmp/pipe.mts). A leaf that only one query term reaches takes that
 * term's best posting without the per-row sums. The merge runs in WebAssembly
 * (lexical-kernel.wat) over the query's lists copied into its memory, with the
 * bits of the JavaScript it replaced: the bench queries in Node, npm 186K
 * 130 → 88–92 µs a query, 1M synthetic 298 → 180 µs (copies included,
 * .tmp/planprof.mts, session 18). One per loaded index; leafScores is
 * synchronous, so calls cannot interleave.
 */
export class LeafDocuments {
  private kernel: LexicalKernelExports
  /** Documents of each leaf, by node; 0 for a node that is not a leaf. */
  private readonly docs: Uint32Array
  /** Where the kernel's memory holds documents by node, the weight table, one leaf's sums, the scores and the leaves reached; the query's lists (and the rows touched, room for one per posting) go after `lists`. */
  private readonly at: { docs: number; table: number; sums: number; score: number; reached: number; lists: number }
  /** The weight table in the kernel's memory now. */
  private table: Float64Array | undefined

  constructor(leaves: readonly { node: number; docs: number }[], nodes: number, private readonly module: WebAssembly.Module) {
    this.docs = new Uint32Array(nodes)
    let largest = 0
    for (const { node, docs } of leaves) {
      this.docs[node] = docs
      largest = Math.max(largest, docs)
    }
    const table = align16(nodes * 4)
    const sums = align16(table + 256 * 8)
    const score = align16(sums + largest * 8)
    const reached = align16(score + nodes * 8)
    this.at = { docs: 0, table, sums, score, reached, lists: align16(reached + nodes * 4) }
    this.kernel = this.instance()
  }

  /** Bytes of the kernel's memory now (tests, diagnostics). */
  kernelBytes(): number {
    return this.kernel.memory.buffer.byteLength
  }

  /**
   * For every leaf that holds one of the query terms' top postings: the best
   * approximate normalized BM25 among its documents (terms whose posting of a
   * document was cut count 0 for it). Routing (planProbe) adds β × this to the
   * leaf's estimated score, so a document that matches the query's words well is
   * read even when its cluster is not among the decoder's best. A posting whose
   * leaf or row is not in this index (a corrupt part) is ignored.
   */
  leafScores(query: ReadonlyMap<number, number>, parts: LexiconPart[], scale: number, config: LexicalConfig): LexicalLeaves {
    const lists: { part: LexiconPart; from: number; to: number; factor: number }[] = []
    let postings = 0
    for (const { count, source: part, i } of locateTerms(query, parts)) {
      const factor = scale * count * part.idf[i]
      const from = part.postingStart[i]
      const to = part.postingStart[i + 1]
      if (factor > 0 && from < to) {
        lists.push({ part, from, to, factor })
        postings += to - from
      }
    }
    // Each list's position, end, next leaf and factor; then every list's leaves, rows and weights, one after another.
    const n = lists.length
    const listAt = this.at.lists
    const listEnd = align16(listAt + n * 4)
    const listNext = align16(listEnd + n * 4)
    const factors = align16(listNext + n * 4)
    const leavesAt = align16(factors + n * 8)
    const rowsAt = align16(leavesAt + postings * 4)
    const weightsAt = align16(rowsAt + postings * 4)
    const touchedAt = align16(weightsAt + postings)
    const buffer = bufferOf(this.kernel.memory, touchedAt + postings * 4)
    const [at, end, next] = [listAt, listEnd, listNext].map((offset) => new Uint32Array(buffer, offset, n))
    const factor = new Float64Array(buffer, factors, n)
    const leaves = new Uint32Array(buffer, leavesAt, postings)
    const rows = new Uint32Array(buffer, rowsAt, postings)
    const weights = new Uint8Array(buffer, weightsAt, postings)
    let offset = 0
    lists.forEach(({ part, from, to, factor: f }, i) => {
      leaves.set(part.leaves.subarray(from, to), offset)
      rows.set(part.rows.subarray(from, to), offset)
      weights.set(part.weights.subarray(from, to), offset)
      at[i] = offset
      end[i] = offset + to - from
      next[i] = Math.min(part.leaves[from], NO_LEAF)
      factor[i] = f
      offset += to - from
    })
    const table = weightTable(config)
    if (this.table !== table) {
      new Float64Array(buffer, this.at.table, 256).set(table)
      this.table = table
    }
    const nodes = this.docs.length
    new Float64Array(buffer, this.at.score, nodes).fill(0)
    const size = this.kernel.leafScores(n, listAt, listEnd, listNext, factors, leavesAt, rowsAt, weightsAt, this.at.docs, nodes, this.at.table, this.at.sums, touchedAt, this.at.score, this.at.reached)
    const answer = { nodes: new Int32Array(buffer, this.at.reached, size).slice(), score: new Float64Array(buffer, this.at.score, nodes).slice() }
    // WebAssembly memory never shrinks: after a query whose lists took more room than any
    // usual one, a fresh instance lets the isolate collect it.
    if (buffer.byteLength - this.at.lists > LIST_ROOM_KEPT) {
      this.kernel = this.instance()
      this.table = undefined
    }
    return answer
  }

  /** A kernel instance with this index's documents by node in its memory (and no weight table yet). */
  private instance(): LexicalKernelExports {
    const kernel = instantiateKernel<LexicalKernelExports>(this.module)
    new Uint32Array(bufferOf(kernel.memory, this.at.lists), this.at.docs, this.docs.length).set(this.docs)
    return kernel
  }
}

interface LexicalKernelExports {
  memory: WebAssembly.Memory
  leafScores(lists: number, at: number, end: number, next: number, factor: number, leaves: number, rows: number, weights: number, docs: number, nodes: number, table: number, sums: number, touched: number, score: number, reached: number): number
}

/**
 * Room for a query's lists the kernel keeps between queries: 13 bytes a posting, so
 * ~323,000 postings (the bench's queries: npm 186K ~14,000, 1M synthetic ~36,000;
 * a query reads at most MAX_LEXICON_PARTS parts).
 */
const LIST_ROOM_KEPT = 4 << 20

/**
 * Lexical routing's answer for one query: the leaves its terms' top postings
 * reach, and each one's best document's approximate normalized BM25. Typed
 * arrays, not a map: npm 186K queries reach ~880 of 1,024 leaves.
 */
export interface LexicalLeaves {
  /** The leaves reached, ascending. */
  nodes: Int32Array
  /** By node: the leaf's score, 0 for a node not reached (sized to the index's tree). */
  score: Float64Array
}

/**
 * Past every leaf: a decoded part names nodes below 2^21 (shard-codec.ts). A
 * posting at or past it is never merged, nor is any after it in its (leaf,
 * row)-ordered list.
 */
const NO_LEAF = 0x3fffffff

