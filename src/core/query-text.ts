// A query's length as the Worker counts it: Unicode code points after trimming,
// so an emoji is one character. The eval and the benchmark cut their queries by
// the same count, so a cut never splits a surrogate pair (encodeURIComponent
// throws on a lone one) and the Worker accepts every text they send.

/** The Worker's default MAX_QUERY_CHARS; the eval and the benchmark cut every query to it. */
export const MAX_QUERY_CHARS = 1000

/** Code points, not UTF-16 units: an emoji counts as one character. */
export function codePointLength(text: string): number {
  let n = 0
  for (const _ of text) n++
  return n
}

/** `text` trimmed and cut to at most `max` code points, then trimmed again: the very q the Worker searches. */
export function cutQuery(text: string, max = MAX_QUERY_CHARS): string {
  const trimmed = text.trim()
  let units = 0
  let n = 0
  for (const c of trimmed) {
    if (n++ === max) return trimmed.slice(0, units).trimEnd()
    units += c.length
  }
  return trimmed
}
