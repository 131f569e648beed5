// Word segmentation shared by the featurizer and the lexical analyzer, and the
// spans pseudo-queries are cut from: Chinese, Japanese and Korean runs become
// character bigrams; every other text reads exactly as before format 7.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { forEachWord, normalizeText } from '../../src/core/words.ts'
import { DEFAULT_FEATURIZER, featurize, tokenize } from '../../src/core/featurizer.ts'
import { words } from '../../src/core/lexical.ts'
import { Bm25Index } from '../../scripts/eval/bm25.ts'
import { pseudoQueriesFor, spanWords } from '../../scripts/build/pseudo-queries.ts'
import { createRng } from '../../scripts/build/random.ts'
import { FORMAT, FORMAT_VERSION, parseManifest } from '../../src/core/manifest.ts'

function wordsOf(text: string): string[] {
  const out: string[] = []
  forEachWord(normalizeText(text), (word) => (out.push(word), true))
  return out
}

/**
 * A letter of Han, kana or Hangul by its own script: text without one must read as in format 6. Drawn
 * independently of words.ts's classes, so the property tests can catch a class that reaches too far.
 */
const CJK_SCRIPT_LETTER = /(?=[\p{L}\p{N}])[\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}\p{sc=Hangul}]/u
/** Characters whose script extensions include Han or kana without being such letters: marks, the middle dot, CJK punctuation. */
const SHARED = ['\u0323', '\u0305', '\u3099', '·', '、', '。', 'ー', '\uFE00', '\u{E0100}']
const spansOf = (text: string) => {
  const w = spanWords(text)
  return Array.from({ length: w.count }, (_, i) => w.text(i, i + 1))
}

describe('word segmentation', () => {
  it('reads a Chinese, Japanese or Korean run as its overlapping bigrams, a lone character as itself', () => {
    expect(wordsOf('支持拖拽')).toEqual(['支持', '持拖', '拖拽'])
    expect(wordsOf('第3章')).toEqual(['第', '3', '章'])
    expect(wordsOf('우편번호')).toEqual(['우편', '편번', '번호'])
    // The length mark ー belongs to kana by script extension: it stays inside its run.
    expect(wordsOf('コーヒー')).toEqual(['コー', 'ーヒ', 'ヒー'])
    // Half-width katakana fold under NFKC; characters beyond the BMP count as one.
    expect(wordsOf('ﾃｽﾄ')).toEqual(['テス', 'スト'])
    expect(wordsOf('𠀀𠀁')).toEqual(['𠀀𠀁'])
  })

  it('splits a CJK run from the letters and digits around it, and drops punctuation', () => {
    expect(wordsOf('AirPower-Enum 是一个基于TypeScript的封装。')).toEqual(['airpower', 'enum', '是一', '一个', '个基', '基于', 'typescript', '的封', '封装'])
  })

  it('reads text without Han, kana or Hangul letters exactly as the letter-and-digit runs of format 6, marks they share included', () => {
    const format6 = (text: string) => [...normalizeText(text).matchAll(/[\p{L}\p{M}\p{N}]+/gu)].map((m) => m[0])
    // U+0323 (dot below) has Han and kana among its script extensions: it must not split a Latin word.
    expect(wordsOf('q̣araq x̅ ж̣')).toEqual(['q̣araq', 'x̅', 'ж̣'])
    const mixed = fc.string({ unit: fc.constantFrom('a', 'É', ' ', '3', ...SHARED), maxLength: 30 })
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 60 }), mixed).filter((t) => !CJK_SCRIPT_LETTER.test(normalizeText(t))), (text) => {
        expect(wordsOf(text)).toEqual(format6(text))
      }),
    )
  })

  it('keeps marks with their character inside a run (a variation selector does not split it)', () => {
    expect(wordsOf('葛\u{E0100}城市')).toEqual(['葛\u{E0100}城', '城市'])
    expect(wordsOf('ｶﾞｷﾞ')).toEqual(['ガギ'])
  })


  it('stops when the visitor says so', () => {
    const seen: string[] = []
    forEachWord('一二三四 five', (w) => (seen.push(w), seen.length < 2))
    expect(seen).toEqual(['一二', '二三'])
  })

  it('lets a query find a word inside an unspaced clause: featurizer and BM25 alike', () => {
    expect(tokenize('支持拖拽', DEFAULT_FEATURIZER)).toEqual(['支持', '持拖', '拖拽'])
    const doc = featurize('hiprint 支持拖拽生成打印模板', DEFAULT_FEATURIZER)
    const query = featurize('拖拽', DEFAULT_FEATURIZER)
    // The query's word feature is one of the document's.
    const wordBucket = query.ids[query.values.indexOf(Math.max(...query.values))]
    expect(Array.from(doc.ids)).toContain(wordBucket)
    const corpus = ['hiprint 支持拖拽生成打印模板', '一个基于 TypeScript 的数据转换器', '다음 우편번호찾기 for React']
    const bm25 = new Bm25Index(corpus.map((t) => words(t)), { k1: 0.9, b: 0.4 })
    expect(bm25.search(words('打印模板'), 3)[0].doc).toBe(0)
    expect(bm25.search(words('数据转换'), 3)[0].doc).toBe(1)
    expect(bm25.search(words('우편번호'), 3)[0].doc).toBe(2)
    // A one-character query matches only where that character stands alone: characters are not indexed (README).
    expect(bm25.search(words('模'), 3)).toEqual([])
  })
})

describe('pseudo-query spans', () => {
  it('count each Han or kana letter as a word, other non-space runs as one, and keep the text as written', () => {
    expect(spansOf('hiprint 支持拖拽(分页)')).toEqual(['hiprint', '支', '持', '拖', '拽', '(', '分', '页', ')'])
    const w = spanWords('支持 Vue3打印 中文 中文')
    expect(w.text(0, 5)).toBe('支持 Vue3打印')
    // The document's own spacing: two words it kept apart are not joined into a bigram it does not hold.
    expect(w.text(5, 9)).toBe('中文 中文')
    expect(w.text(7, 30)).toBe('中文')
  })

  it('split other text on whitespace and join it with single spaces, as before, marks and punctuation shared with CJK scripts included', () => {
    // msmarco-5k writes "·" in 32 passages: splitting there changed their spans, and with them every later document's.
    expect(spansOf('a·b c、d q̣ara')).toEqual(['a·b', 'c、d', 'q̣ara'])
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: fc.constantFrom('a', ' ', '\n', '(', ...SHARED), maxLength: 30 })).filter((t) => !CJK_SCRIPT_LETTER.test(t)), (text) => {
        const split = text.split(/\s+/).filter(Boolean)
        const w = spanWords(text)
        expect(w.count).toBe(split.length)
        expect(w.text(0, split.length)).toBe(split.join(' '))
        if (split.length > 1) expect(w.text(1, 2)).toBe(split[1])
      }),
    )
  })

  it('give an unspaced document its first sentence and spans of 3–10 words', () => {
    const doc = { id: 'd', title: '', text: '这是一个基于TypeScript的数据转换器。提供了从对象到类实例的转换方法' }
    const queries = pseudoQueriesFor(doc, 0, { spansPerDoc: 2, minSpanWords: 3, maxSpanWords: 10 }, createRng(1))
    expect(queries.find((q) => q.kind === 'first-sentence')?.text).toBe('这是一个基于TypeScript的数据转换器。')
    const spans = queries.filter((q) => q.kind === 'span')
    expect(spans).toHaveLength(2)
    for (const span of spans) {
      expect(doc.text).toContain(span.text)
      expect(spanWords(span.text).count).toBeGreaterThanOrEqual(3)
      expect(spanWords(span.text).count).toBeLessThanOrEqual(10)
    }
  })
})

describe('index format', () => {
  it('refuses another format version with what to do', () => {
    expect(FORMAT_VERSION).toBe(8)
    expect(() => parseManifest({ format: FORMAT, formatVersion: 7 })).toThrow(/index format version 7; this release reads version 8: rebuild the index/)
  })
})
