// A standard BM25 (Lucene/Anserini-style idf, k1 = 0.9, b = 0.4) over the whole
// corpus: the baseline. Its terms come from the same English analyzer as the
// Worker's lexical term (src/core/lexical.ts `words`).

import { TopK } from '../../src/core/score.ts'
import { inverseDocumentFrequency, termWeight } from '../../src/core/lexical.ts'

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

  /** ln(1 + (N − df + 0.5) / (df + 0.5)): always positive; the same formula as the Worker's lexical term. */
  idf(term: string): number {
    return inverseDocumentFrequency(this.docs, this.documentFrequency(term))
  }

  /**
   * Σ over query terms of idf · tf·(k1 + 1) / (tf + k1·(1 − b + b·|d|/avgdl)).
   * A term repeated in the query counts once per occurrence (as Lucene's bag-of-words query does).
   * Only documents sharing a term with the query are returned, best first; ties keep document order.
   */
  search(queryTerms: readonly string[], k: number): Bm25Hit[] {
    const config = { kind: 'bm25' as const, ...this.params, avgDocLength: this.avgLength, seed: 0 }
    const scores = new Map<number, number>()
    const weights = new Map<string, number>()
    for (const t of queryTerms) weights.set(t, (weights.get(t) ?? 0) + 1)
    for (const [term, count] of weights) {
      const p = this.postings.get(term)
      if (!p) continue
      const idf = this.idf(term) * count
      for (let i = 0; i < p.docs.length; i++) {
        const doc = p.docs[i]
        scores.set(doc, (scores.get(doc) ?? 0) + idf * termWeight(p.tfs[i], this.lengths[doc], config))
      }
    }
    // Ties by document number, the lower first.
    const top = new TopK<number>(k, (a, b) => a - b)
    for (const [doc, score] of scores) if (score >= top.threshold) top.push(doc, score)
    return top.sorted().map(({ item, score }) => ({ doc: item, score }))
  }
}
