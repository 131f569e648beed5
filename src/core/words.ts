// Word segmentation, shared by the featurizer (the model's side) and the lexical
// analyzer (BM25's side), so both read the same words in a text.
//
// Words are runs of letters, marks and digits. Chinese and Japanese are written
// without spaces, so such a run is a whole clause: one token no query matches
// unless it repeats the clause. As Lucene's CJK analyzer does, a run of Han,
// Hiragana, Katakana or Hangul gives its overlapping character bigrams instead
// (a lone character gives itself): "支持拖拽" → 支持, 持拖, 拖拽, so the query 拖拽
// finds it. Script extensions keep the Japanese length mark ー and iteration
// marks inside their run.

const CJK = '\\p{scx=Han}\\p{scx=Hiragana}\\p{scx=Katakana}\\p{scx=Hangul}'
/** A CJK run (group 1), or a run of other letters, marks and digits. */
const WORD_OR_CJK_RUN = new RegExp(`([[\\p{L}\\p{M}\\p{N}]&&[${CJK}]]+)|[[\\p{L}\\p{M}\\p{N}]--[${CJK}]]+`, 'gv')

/**
 * Calls `visit` with each word of a text already normalized (NFKC, lowercase),
 * in order, until it returns false. A CJK run's words are its bigrams, by code
 * point. Never throws (lone surrogates are not letters: they separate words).
 */
export function forEachWord(normalized: string, visit: (word: string) => boolean): void {
  for (const match of normalized.matchAll(WORD_OR_CJK_RUN)) {
    if (match[1] === undefined) {
      if (!visit(match[0])) return
      continue
    }
    const chars = Array.from(match[1])
    if (chars.length === 1) {
      if (!visit(chars[0])) return
      continue
    }
    for (let i = 0; i + 1 < chars.length; i++) if (!visit(chars[i] + chars[i + 1])) return
  }
}

/** NFKC, then lowercase: how both analyzers see a text before it is split into words. */
export function normalizeText(text: string): string {
  return text.normalize('NFKC').toLowerCase()
}
