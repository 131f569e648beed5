// Word segmentation, shared by the featurizer (the model's side) and the lexical
// analyzer (BM25's side), so both read the same words in a text.
//
// Words are runs of letters, marks and digits. Chinese and Japanese are written
// without spaces, so such a run is a whole clause: one token no query matches
// unless it repeats the clause. As Lucene's CJK analyzer does, a run of Han,
// Hiragana, Katakana or Hangul gives its overlapping character bigrams instead
// (a lone character gives itself): "支持拖拽" → 支持, 持拖, 拖拽, so the query 拖拽
// finds it. A run starts at a letter of those scripts; it goes on through letters
// whose script extensions include them (the length mark ー, iteration marks) and
// through combining marks (variation selectors), which stay with their character.
// Marks shared with other scripts (U+0323, dot below) never start a run, so text
// without Han, kana or Hangul letters reads exactly as before index format 7.

const CJK_SCRIPT = '\\p{sc=Han}\\p{sc=Hiragana}\\p{sc=Katakana}\\p{sc=Hangul}'
const CJK_EXTENDED = '\\p{scx=Han}\\p{scx=Hiragana}\\p{scx=Katakana}\\p{scx=Hangul}'
const CJK_START = `[[\\p{L}\\p{N}]&&[${CJK_SCRIPT}]]`
const CJK_CONTINUE = `[[[\\p{L}\\p{N}]&&[${CJK_EXTENDED}]]\\p{M}]`
/** A CJK run (group 1), or a run of other letters, marks and digits. */
const WORD_OR_CJK_RUN = new RegExp(`(${CJK_START}${CJK_CONTINUE}*)|[[\\p{L}\\p{M}\\p{N}]--${CJK_START}]+`, 'gv')
/** A character of a CJK run with the marks that follow it. */
const CHARACTER = /\P{M}\p{M}*/gu

/**
 * Calls `visit` with each word of a text already normalized (NFKC, lowercase),
 * in order, until it returns false. A CJK run's words are its bigrams, by
 * character (code point with its marks). Never throws (lone surrogates are not
 * letters: they separate words).
 */
export function forEachWord(normalized: string, visit: (word: string) => boolean): void {
  for (const match of normalized.matchAll(WORD_OR_CJK_RUN)) {
    if (match[1] === undefined) {
      if (!visit(match[0])) return
      continue
    }
    const chars = match[1].match(CHARACTER)!
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
