// A standard BM25 (Lucene/Anserini-style idf, k1 = 0.9, b = 0.4) over an
// English analyzer: NFKC + Unicode lowercase, letter/digit tokens, NLTK's
// English stopwords, Porter2 (Snowball English) stems.
//
// No Node-only APIs here: the analyzer and the index can move to src/core if the
// method gains a lexical term (the stemmer is plain JS with no dependencies).

import stem from 'wink-porter2-stemmer'
import { TopK } from '../../src/core/score.ts'

/**
 * NLTK's English stopword list (179 words; the apostrophe forms are left out since
 * the tokenizer splits at apostrophes, so "don't" → "don", "t", both listed).
 * With it and Porter2 stems this BM25 lands within ±0.007 of the project's
 * reference numbers; Lucene's 33-word list lands 0.01–0.02 lower.
 */
export const ENGLISH_STOPWORDS: readonly string[] = (
  'i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her hers herself ' +
  'it its itself they them their theirs themselves what which who whom this that these those am is are was were be ' +
  'been being have has had having do does did doing a an the and but if or because as until while of at by for with ' +
  'about against between into through during before after above below to from up down in out on off over under again ' +
  'further then once here there when where why how all any both each few more most other some such no nor not only own ' +
  'same so than too very s t can will just don should now d ll m o re ve y ain aren couldn didn doesn hadn hasn haven ' +
  'isn ma mightn mustn needn shan shouldn wasn weren won wouldn'
).split(' ')

export interface AnalyzerOptions {
  stopwords: ReadonlySet<string>
  /** Tokens shorter than this (in code points, before stemming) are dropped. */
  minLength: number
  stem: boolean
}

export const DEFAULT_ANALYZER: AnalyzerOptions = { stopwords: new Set(ENGLISH_STOPWORDS), minLength: 1, stem: true }

// Letters, marks and digits; everything else (punctuation, apostrophes, spaces) separates tokens.
const TOKEN = /[\p{L}\p{M}\p{N}]+/gu

/** Text → index terms. Deterministic, never throws. */
export function createAnalyzer(options: AnalyzerOptions = DEFAULT_ANALYZER): (text: string) => string[] {
  const stems = new Map<string, string>()
  return (text) => {
    const terms: string[] = []
    for (const match of text.normalize('NFKC').toLowerCase().matchAll(TOKEN)) {
      const token = match[0]
      if (options.stopwords.has(token)) continue
      if (options.minLength > 1 && [...token].length < options.minLength) continue
      if (!options.stem) {
        terms.push(token)
        continue
      }
      let s = stems.get(token)
      if (s === undefined) {
        s = stem(token)
        stems.set(token, s)
      }
      terms.push(s)
    }
    return terms
  }
}

export interface Bm25Params {
  k1: number
  b: number
}

export const DEFAULT_BM25: Bm25Params = { k1: 0.9, b: 0.4 }

export interface Bm25Hit {
  doc: number
  score: number
}

/** Inverted index over analyzed documents; documents are numbered in insertion order. */
export class Bm25Index {
  readonly docs: number
  readonly avgLength: number
  private readonly lengths: Float64Array
  private readonly postings = new Map<string, { docs: number[]; tfs: number[] }>()

  constructor(
    documents: readonly string[][],
    readonly params: Bm25Params = DEFAULT_BM25,
  ) {
    this.docs = documents.length
    this.lengths = new Float64Array(documents.length)
    let total = 0
    documents.forEach((terms, doc) => {
      this.lengths[doc] = terms.length
      total += terms.length
      const tf = new Map<string, number>()
      for (const t of terms) tf.set(t, (tf.get(t) ?? 0) + 1)
      for (const [t, n] of tf) {
        let p = this.postings.get(t)
        if (!p) this.postings.set(t, (p = { docs: [], tfs: [] }))
        p.docs.push(doc)
        p.tfs.push(n)
      }
    })
    this.avgLength = documents.length > 0 ? total / documents.length : 0
  }

  documentFrequency(term: string): number {
    return this.postings.get(term)?.docs.length ?? 0
  }

  /** ln(1 + (N − df + 0.5) / (df + 0.5)): always positive. */
  idf(term: string): number {
    const df = this.documentFrequency(term)
    return Math.log(1 + (this.docs - df + 0.5) / (df + 0.5))
  }

  /**
   * Σ over query terms of idf · tf·(k1 + 1) / (tf + k1·(1 − b + b·|d|/avgdl)).
   * A term repeated in the query counts once per occurrence (as Lucene's bag-of-words query does).
   * Only documents sharing a term with the query are returned, best first; ties keep document order.
   */
  search(queryTerms: readonly string[], k: number): Bm25Hit[] {
    const { k1, b } = this.params
    const scores = new Map<number, number>()
    const weights = new Map<string, number>()
    for (const t of queryTerms) weights.set(t, (weights.get(t) ?? 0) + 1)
    for (const [term, count] of weights) {
      const p = this.postings.get(term)
      if (!p) continue
      const idf = this.idf(term) * count
      for (let i = 0; i < p.docs.length; i++) {
        const doc = p.docs[i]
        const tf = p.tfs[i]
        const norm = this.avgLength > 0 ? k1 * (1 - b + (b * this.lengths[doc]) / this.avgLength) : k1
        scores.set(doc, (scores.get(doc) ?? 0) + (idf * (tf * (k1 + 1))) / (tf + norm))
      }
    }
    const top = new TopK<number>(k)
    // Ascending document order, so that TopK's "ties keep the earlier item" means the lower document number.
    for (const doc of [...scores.keys()].sort((x, y) => x - y)) {
      const score = scores.get(doc)!
      if (score > top.threshold) top.push(doc, score)
    }
    return top.sorted().map(({ item, score }) => ({ doc: item, score })).sort((x, y) => y.score - x.score || x.doc - y.doc)
  }
}
