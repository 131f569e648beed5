// Training queries made from the corpus itself (we have no query generator and
// never train on a dataset's real queries): the title, the first sentence and
// random word spans of each document ("document as query").

import type { CorpusDoc } from './corpus.ts'
import { type Rng, randomInt } from './random.ts'

export interface PseudoQuery {
  text: string
  doc: number
  kind: 'title' | 'first-sentence' | 'span'
}

export interface PseudoQueryOptions {
  spansPerDoc: number
  minSpanWords: number
  maxSpanWords: number
}

export const DEFAULT_PSEUDO_QUERIES: PseudoQueryOptions = { spansPerDoc: 2, minSpanWords: 3, maxSpanWords: 10 }

/** After . ! ? and whitespace, or right after a CJK full stop, exclamation or question mark (written without a space). */
const SENTENCE_END = /(?<=[.!?])\s+|(?<=[。！？])/u

// Chinese and Japanese have no spaces between words: each Han or kana letter (with
// its marks) is a word of its own for spans, so such a document still gets spans of
// 3–10 words (one whitespace "word" may be a whole clause); any other run of
// non-space characters, punctuation included, is one word. A span is then the
// document's own text from its first word to its last, spacing kept, so it never
// joins letters the document kept apart. A document is read this way when it has a
// Han or kana letter by script (a mark or a middle dot · shared with those scripts
// does not count); any other text splits on whitespace and joins with single
// spaces, as always.
const UNSPACED_SCRIPT = new RegExp('[[\\p{L}\\p{N}]&&[\\p{sc=Han}\\p{sc=Hiragana}\\p{sc=Katakana}]]', 'v')
const UNSPACED_LETTER = '[[\\p{L}\\p{N}]&&[\\p{scx=Han}\\p{scx=Hiragana}\\p{scx=Katakana}]]'
const SPAN_WORD = new RegExp(`${UNSPACED_LETTER}\\p{M}*|[\\S--${UNSPACED_LETTER}]+`, 'gv')

/** A text as the words spans are counted in, and the text of any run of them. */
export interface SpanWords {
  count: number
  /** The text of words start … end − 1. */
  text(start: number, end: number): string
}

export function spanWords(text: string): SpanWords {
  if (!UNSPACED_SCRIPT.test(text)) {
    const words = text.split(/\s+/).filter(Boolean)
    return { count: words.length, text: (start, end) => words.slice(start, end).join(' ') }
  }
  const words = [...text.matchAll(SPAN_WORD)]
  return {
    count: words.length,
    text(start, end) {
      end = Math.min(end, words.length)
      return end > start ? text.slice(words[start].index, words[end - 1].index + words[end - 1][0].length) : ''
    },
  }
}

export function pseudoQueriesFor(doc: CorpusDoc, index: number, options: PseudoQueryOptions, rng: Rng): PseudoQuery[] {
  const queries: PseudoQuery[] = []
  const words = spanWords(doc.text)
  if (doc.title.trim() && words.count > 0) queries.push({ text: doc.title, doc: index, kind: 'title' })
  const firstSentence = doc.text.split(SENTENCE_END, 1)[0] ?? ''
  const sentenceWords = spanWords(firstSentence)
  if (sentenceWords.count >= options.minSpanWords && sentenceWords.count < words.count) {
    queries.push({ text: sentenceWords.text(0, 30), doc: index, kind: 'first-sentence' })
  }
  for (let s = 0; s < options.spansPerDoc && words.count >= options.minSpanWords; s++) {
    const length = Math.min(words.count, options.minSpanWords + randomInt(rng, options.maxSpanWords - options.minSpanWords + 1))
    const start = randomInt(rng, words.count - length + 1)
    queries.push({ text: words.text(start, start + length), doc: index, kind: 'span' })
  }
  // A document with only a title still gets one query, so every document is trainable.
  if (queries.length === 0) queries.push({ text: doc.title || doc.text, doc: index, kind: 'title' })
  return queries
}
