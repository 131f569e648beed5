// The BM25 analyzer and scores on a made-up corpus, against the formula written out by hand.
import { describe, expect, it } from 'vitest'
import { Bm25Index } from '../../scripts/eval/bm25.ts'
import { ENGLISH_STOPWORDS, words } from '../../src/core/lexical.ts'

describe('English analyzer (shared by the BM25 baseline and the Worker\'s lexical term)', () => {
  const analyze = words

  it('lowercases (Unicode, NFKC), drops stopwords, stems with Porter2', () => {
    expect(analyze('The Running of the Bulls')).toEqual(['run', 'bull'])
    expect(analyze('ÉTÉ Überschall ＦＵＬＬ')).toEqual(['été', 'überschal', 'full'])
    // Porter2 (not Porter 1): "generously" → "generous", "dying" → "die", "skies" → "sky".
    expect(analyze('generously dying skies')).toEqual(['generous', 'die', 'sky'])
    expect(analyze('boundary-layer flows, Mach 2.5')).toEqual(['boundari', 'layer', 'flow', 'mach', '2', '5'])
  })

  it('splits at apostrophes and punctuation; never throws', () => {
    expect(analyze("don't stop")).toEqual(['stop'])
    expect(analyze('')).toEqual([])
    expect(analyze('\ud800 🙂 ...')).toEqual([])
  })

  it('uses NLTK\'s English stopwords', () => {
    expect(ENGLISH_STOPWORDS.has('the')).toBe(true)
    expect(ENGLISH_STOPWORDS.has('wouldn')).toBe(true)
    expect(ENGLISH_STOPWORDS.size).toBe(153)
  })
})

describe('BM25 index', () => {
  const docs = [['wing', 'flow', 'flow'], ['wing'], ['heat', 'transfer', 'slab', 'slab', 'slab'], []]
  const k1 = 0.9
  const b = 0.4
  const index = new Bm25Index(docs, { k1, b })
  const avgdl = (3 + 1 + 5 + 0) / 4
  const idf = (df: number) => Math.log(1 + (4 - df + 0.5) / (df + 0.5))
  const term = (tf: number, dl: number, df: number) => (idf(df) * tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * dl) / avgdl))

  it('idf = ln(1 + (N − df + 0.5)/(df + 0.5)), positive even for common terms', () => {
    expect(index.idf('wing')).toBeCloseTo(idf(2), 12)
    expect(index.idf('unknown')).toBeCloseTo(idf(0), 12)
    expect(new Bm25Index([['a'], ['a']]).idf('a')).toBeGreaterThan(0)
  })

  it('scores match the formula; best first; only matching documents', () => {
    const hits = index.search(['wing', 'flow'], 10)
    expect(hits.map((h) => h.doc)).toEqual([0, 1])
    expect(hits[0].score).toBeCloseTo(term(1, 3, 2) + term(2, 3, 1), 12)
    expect(hits[1].score).toBeCloseTo(term(1, 1, 2), 12)
    expect(index.search(['nothing'], 10)).toEqual([])
  })

  it('a repeated query term counts once per occurrence; k cuts; ties keep document order', () => {
    const once = index.search(['slab'], 10)[0].score
    expect(index.search(['slab', 'slab'], 10)[0].score).toBeCloseTo(2 * once, 12)
    const tied = new Bm25Index([['x'], ['y'], ['x'], ['x']])
    expect(tied.search(['x'], 2).map((h) => h.doc)).toEqual([0, 2])
    expect(tied.search(['x'], 10).map((h) => h.doc)).toEqual([0, 2, 3])
  })

  it('length normalization: with b > 0 a shorter document with the same tf ranks higher', () => {
    const n = new Bm25Index([['a', 'b', 'c', 'd', 'q'], ['q', 'e']], { k1, b: 0.75 })
    expect(n.search(['q'], 2).map((h) => h.doc)).toEqual([1, 0])
    const flat = new Bm25Index([['a', 'b', 'c', 'd', 'q'], ['q', 'e']], { k1, b: 0 })
    const [x, y] = flat.search(['q'], 2)
    expect(x.score).toBeCloseTo(y.score, 12)
  })
})
