import type { ShardPostings } from '../../src/core/lexical.ts'

/** Postings for documents given as lists of (term, weight); a term's repeats in one document are dropped; idf is a function of the term. */
export function postingsOf(docs: [number, number][][], idfOf: (term: number) => number = (t) => (t % 97) / 10): ShardPostings {
  const byTerm = new Map<number, [number, number][]>()
  docs.forEach((terms, row) => {
    for (const [term, weight] of terms) if (!byTerm.get(term)?.some(([r]) => r === row)) byTerm.set(term, [...(byTerm.get(term) ?? []), [row, weight]])
  })
  const terms = Uint32Array.from(byTerm.keys()).sort()
  const postingStart = new Uint32Array(terms.length + 1)
  terms.forEach((t, i) => (postingStart[i + 1] = postingStart[i] + byTerm.get(t)!.length))
  const flat = [...terms].flatMap((t) => byTerm.get(t)!)
  return {
    terms,
    idf: Float32Array.from(terms, idfOf),
    postingStart,
    rows: Uint32Array.from(flat, ([row]) => row),
    weights: Uint8Array.from(flat, ([, w]) => w),
  }
}
