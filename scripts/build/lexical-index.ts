// Corpus statistics for the lexical (BM25) term, and each leaf's postings.

import { analyze, inverseDocumentFrequency, quantizeWeight, termCounts, termWeight, type ShardPostings } from '../../src/core/lexical.ts'
import type { LexicalConfig } from '../../src/core/manifest.ts'

export const BM25_K1 = 0.9
export const BM25_B = 0.4
const TERM_SEED = 0x2545f491

export interface LexicalCorpus {
  config: LexicalConfig
  /** Per document: term → count. */
  counts: Map<number, number>[]
  lengths: Uint32Array
  idf: Map<number, number>
}

export function analyzeCorpus(texts: string[]): LexicalCorpus {
  const base = { kind: 'bm25' as const, k1: BM25_K1, b: BM25_B, avgDocLength: 0, seed: TERM_SEED }
  const counts: Map<number, number>[] = []
  const lengths = new Uint32Array(texts.length)
  const df = new Map<number, number>()
  texts.forEach((text, i) => {
    const terms = analyze(text, base)
    lengths[i] = terms.length
    const c = termCounts(terms)
    counts.push(c)
    for (const term of c.keys()) df.set(term, (df.get(term) ?? 0) + 1)
  })
  const total = lengths.reduce((a, b) => a + b, 0)
  const config: LexicalConfig = { ...base, avgDocLength: texts.length > 0 ? total / texts.length : 0 }
  const idf = new Map<number, number>()
  for (const [term, n] of df) idf.set(term, inverseDocumentFrequency(texts.length, n))
  return { config, counts, lengths, idf }
}

/** Postings of the documents `docs` (row r = docs[r]), sorted by term. */
export function postingsFor(corpus: LexicalCorpus, docs: number[]): ShardPostings {
  const byTerm = new Map<number, { row: number; weight: number }[]>()
  docs.forEach((doc, row) => {
    for (const [term, tf] of corpus.counts[doc]) {
      let list = byTerm.get(term)
      if (!list) byTerm.set(term, (list = []))
      list.push({ row, weight: quantizeWeight(termWeight(tf, corpus.lengths[doc], corpus.config), corpus.config) })
    }
  })
  const terms = Uint32Array.from(byTerm.keys()).sort()
  const postingStart = new Uint32Array(terms.length + 1)
  const idf = new Float32Array(terms.length)
  terms.forEach((term, i) => {
    postingStart[i + 1] = postingStart[i] + byTerm.get(term)!.length
    idf[i] = corpus.idf.get(term)!
  })
  const rows = new Uint32Array(postingStart[terms.length])
  const weights = new Uint8Array(rows.length)
  terms.forEach((term, i) => {
    byTerm.get(term)!.forEach((p, j) => {
      rows[postingStart[i] + j] = p.row
      weights[postingStart[i] + j] = p.weight
    })
  })
  return { terms, idf, postingStart, rows, weights }
}
