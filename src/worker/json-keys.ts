// The keys of a JSON text's top-level object as written, repeats included.
// JSON.parse keeps only the last of repeated keys, so it cannot tell whether
// a request said a parameter twice; this scanner can. It expects valid JSON
// (run it after JSON.parse has accepted the text) and skips nested values.

/** The top-level object's keys in order, decoded as JSON.parse decodes them; [] when the text is not an object. */
export function topLevelKeys(json: string): string[] {
  const start = firstTokenAt(json)
  if (json[start] !== '{') return []
  const keys: string[] = []
  let depth = 0
  // True between the top-level object's `{` or `,` and the key that follows it.
  let keyNext = false
  for (let i = start; i < json.length; i++) {
    const ch = json[i]
    if (ch === '"') {
      const end = stringEnd(json, i)
      if (depth === 1 && keyNext) {
        keys.push(JSON.parse(json.slice(i, end)) as string)
        keyNext = false
      }
      i = end - 1
    } else if (ch === '{' || ch === '[') {
      depth++
      if (depth === 1) keyNext = true
    } else if (ch === '}' || ch === ']') {
      depth--
    } else if (ch === ',' && depth === 1) {
      keyNext = true
    }
  }
  return keys
}

/** The first key said more than once, if any. */
export function firstRepeatedKey(keys: string[]): string | undefined {
  const seen = new Set<string>()
  for (const key of keys) {
    if (seen.has(key)) return key
    seen.add(key)
  }
  return undefined
}

/** Index of the first character that is not JSON whitespace. */
function firstTokenAt(json: string): number {
  let i = 0
  while (i < json.length && (json[i] === ' ' || json[i] === '\t' || json[i] === '\n' || json[i] === '\r')) i++
  return i
}

/** Index just past the closing quote of the string opening at `open`; an escape's next character never closes it. */
function stringEnd(json: string, open: number): number {
  for (let i = open + 1; i < json.length; i++) {
    if (json[i] === '\\') i++
    else if (json[i] === '"') return i + 1
  }
  return json.length
}
