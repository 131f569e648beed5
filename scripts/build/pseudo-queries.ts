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

// Chinese and Japanese have no spaces between words: each Han or kana letter is a
// word of its own for spans, so such a document still gets spans of 3–10 of them
// (one whitespace "word" may be a whole clause). Letters only: punctuation such as
// the middle dot · shares the Han script's extensions. Text without them splits on
// whitespace, as always.
const UNSPACED_LETTER = '[[\\p{L}\\p{M}\\p{N}]&&[\\p{scx=Han}\\p{scx=Hiragana}\\p{scx=Katakana}]]'
const UNSPACED = new RegExp(UNSPACED_LETTER, 'v')
const SPAN_WORD = new RegExp(`${UNSPACED_LETTER}|[\\S--${UNSPACED_LETTER}]+`, 'gv')

/** The words spans are counted in: whitespace-separated, a Han or kana letter each. */
export function spanWords(text: string): string[] {
  return UNSPACED.test(text) ? text.match(SPAN_WORD) ?? [] : text.split(/\s+/).filter(Boolean)
}

/** A span's text: its words with a space between them, none between two Han or kana letters. */
export function joinSpan(words: string[]): string {
  let text = words[0] ?? ''
  for (let i = 1; i < words.length; i++) text += (UNSPACED.test(words[i - 1]) && UNSPACED.test(words[i]) ? '' : ' ') + words[i]
  return text
}

export function pseudoQueriesFor(doc: CorpusDoc, index: number, options: PseudoQueryOptions, rng: Rng): PseudoQuery[] {
  const queries: PseudoQuery[] = []
  const words = spanWords(doc.text)
  if (doc.title.trim() && words.length > 0) queries.push({ text: doc.title, doc: index, kind: 'title' })
  const firstSentence = doc.text.split(SENTENCE_END, 1)[0] ?? ''
  const sentenceWords = spanWords(firstSentence)
  if (sentenceWords.length >= options.minSpanWords && sentenceWords.length < words.length) {
    queries.push({ text: joinSpan(sentenceWords.slice(0, 30)), doc: index, kind: 'first-sentence' })
  }
  for (let s = 0; s < options.spansPerDoc && words.length >= options.minSpanWords; s++) {
    const length = Math.min(words.length, options.minSpanWords + randomInt(rng, options.maxSpanWords - options.minSpanWords + 1))
    const start = randomInt(rng, words.length - length + 1)
    queries.push({ text: joinSpan(words.slice(start, start + length)), doc: index, kind: 'span' })
  }
  // A document with only a title still gets one query, so every document is trainable.
  if (queries.length === 0) queries.push({ text: doc.title || doc.text, doc: index, kind: 'title' })
  return queries
}
