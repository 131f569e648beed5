// Corpus statistics for the lexical (BM25) term, and each leaf's postings.

import { analyze, inverseDocumentFrequency, quantizeWeight, termCounts, termWeight, type LexiconPart, type ShardPostings } from '../../src/core/lexical.ts'
import { lexiconPartOf, type LexicalConfig } from '../../src/core/manifest.ts'

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

/**
 * Postings kept per term in the lexicon: every match of a term in up to this many
 * documents, the strongest of a more common one. Routing ranks a leaf by its best
 * document's estimated BM25, and a cut posting makes that estimate low. Held-out
 * pseudo-queries, exactR@10 at 16 leaves read (.tmp/lextop.mts): npm 186K 0.859
 * with 1,024, 0.891 with 4,096, 0.906 with 16,384 (= every posting); synthetic 100K
 * 0.900 / 0.927 / 0.934. The lexicon grows 9.0 → 12.6 MiB (npm) and 63.6 → 129.7 MiB
 * (1M synthetic, largest part 564 KiB), and a query reads 63 → 170 KiB of it (npm).
 */
export const LEXICON_TOP_K = 16384
/** Aimed size of one lexicon part: a query reads one per term. */
export const LEXICON_PART_BYTES = 8 * 1024
/**
 * At most this many parts (larger ones past it): the manifest lists every part, and
 * the Worker parses it on an isolate's first request. 1M synthetic documents would
 * otherwise make 8,134 parts and a 1.7 MB manifest (and local publishing of its
 * 9,158 objects failed); with the cap, the same shape as the 1,024 shards.
 */
export const LEXICON_MAX_PARTS = 1024

/**
 * The corpus-wide lexicon from the leaves' postings: each term's idf and its
 * `topK` highest-weighted postings (ties: leaf, then row) in (leaf, row) order,
 * split by term hash into parts of about LEXICON_PART_BYTES.
 */
export function buildLexicon(leaves: Iterable<{ node: number; postings: ShardPostings }>, topK: number = LEXICON_TOP_K, maxParts: number = LEXICON_MAX_PARTS): LexiconPart[] {
  const list = [...leaves]
  // Pass 1: postings per term, to lay all of them out in typed arrays (1M documents hold tens of millions).
  const slot = new Map<number, number>()
  const counts: number[] = []
  const idfs: number[] = []
  for (const { postings: p } of list) {
    for (let i = 0; i < p.terms.length; i++) {
      let s = slot.get(p.terms[i])
      if (s === undefined) {
        slot.set(p.terms[i], (s = counts.length))
        counts.push(0)
        idfs.push(p.idf[i])
      }
      counts[s] += p.postingStart[i + 1] - p.postingStart[i]
    }
  }
  const start = new Uint32Array(counts.length + 1)
  counts.forEach((n, s) => (start[s + 1] = start[s] + n))
  const fill = start.slice(0, counts.length)
  const leafOf = new Uint32Array(start[counts.length])
  const rowOf = new Uint32Array(leafOf.length)
  const weightOf = new Uint8Array(leafOf.length)
  for (const { node, postings: p } of list) {
    for (let i = 0; i < p.terms.length; i++) {
      const s = slot.get(p.terms[i])!
      for (let q = p.postingStart[i]; q < p.postingStart[i + 1]; q++) {
        const at = fill[s]++
        leafOf[at] = node
        rowOf[at] = p.rows[q]
        weightOf[at] = p.weights[q]
      }
    }
  }
  // Pass 2: each term's top postings, then the parts.
  const kept = counts.map((n) => Math.min(n, topK))
  const totalBytes = kept.reduce((sum, n) => sum + 12 + 9 * n, 0)
  const partCount = Math.min(maxParts, Math.max(1, Math.ceil(totalBytes / LEXICON_PART_BYTES)))
  const termsOfPart: number[][] = Array.from({ length: partCount }, () => [])
  for (const term of slot.keys()) termsOfPart[lexiconPartOf(term, partCount)].push(term)
  return termsOfPart.map((terms) => {
    terms.sort((a, b) => a - b)
    const postingStart = new Uint32Array(terms.length + 1)
    terms.forEach((term, i) => (postingStart[i + 1] = postingStart[i] + kept[slot.get(term)!]))
    const part: LexiconPart = {
      terms: Uint32Array.from(terms),
      idf: Float32Array.from(terms, (term) => idfs[slot.get(term)!]),
      postingStart,
      leaves: new Uint32Array(postingStart[terms.length]),
      rows: new Uint32Array(postingStart[terms.length]),
      weights: new Uint8Array(postingStart[terms.length]),
    }
    terms.forEach((term, i) => {
      const s = slot.get(term)!
      let order = Array.from({ length: counts[s] }, (_, j) => start[s] + j)
      if (order.length > topK) order = order.sort((a, b) => weightOf[b] - weightOf[a] || leafOf[a] - leafOf[b] || rowOf[a] - rowOf[b]).slice(0, topK)
      // Stored in (leaf, row) order: lexical routing merges the query terms' lists leaf by leaf.
      order.sort((a, b) => leafOf[a] - leafOf[b] || rowOf[a] - rowOf[b])
      for (let j = 0; j < kept[s]; j++) {
        const at = postingStart[i] + j
        part.leaves[at] = leafOf[order[j]]
        part.rows[at] = rowOf[order[j]]
        part.weights[at] = weightOf[order[j]]
      }
    })
    return part
  })
}
