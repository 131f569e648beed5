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

export function pseudoQueriesFor(doc: CorpusDoc, index: number, options: PseudoQueryOptions, rng: Rng): PseudoQuery[] {
  const queries: PseudoQuery[] = []
  const words = doc.text.split(/\s+/).filter(Boolean)
  if (doc.title.trim() && words.length > 0) queries.push({ text: doc.title, doc: index, kind: 'title' })
  const firstSentence = doc.text.split(/(?<=[.!?])\s+/, 1)[0] ?? ''
  const sentenceWords = firstSentence.split(/\s+/).filter(Boolean)
  if (sentenceWords.length >= options.minSpanWords && sentenceWords.length < words.length) {
    queries.push({ text: sentenceWords.slice(0, 30).join(' '), doc: index, kind: 'first-sentence' })
  }
  for (let s = 0; s < options.spansPerDoc && words.length >= options.minSpanWords; s++) {
    const length = Math.min(words.length, options.minSpanWords + randomInt(rng, options.maxSpanWords - options.minSpanWords + 1))
    const start = randomInt(rng, words.length - length + 1)
    queries.push({ text: words.slice(start, start + length).join(' '), doc: index, kind: 'span' })
  }
  // A document with only a title still gets one query, so every document is trainable.
  if (queries.length === 0) queries.push({ text: doc.title || doc.text, doc: index, kind: 'title' })
  return queries
}
