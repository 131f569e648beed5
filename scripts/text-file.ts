// Text the CLI reads: strict UTF-8, so a broken byte is an error naming its line rather
// than a U+FFFD that silently matches nothing; a leading byte-order mark is dropped.

import { readFileSync } from 'node:fs'

/** A decoder that throws on bytes that are not UTF-8 and leaves a BOM to withoutBom (it would drop one at the start of every line it decodes). */
export function strictUtf8Decoder(): TextDecoder {
  return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
}

/** The bytes after a leading UTF-8 byte-order mark, if there is one. */
export function withoutBom(bytes: Uint8Array): Uint8Array {
  return bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes
}

/** A whole file's text; throws `<path>:<line>: not valid UTF-8` at the first line that is not. */
export function readTextFile(path: string): string {
  const bytes = withoutBom(readFileSync(path))
  const decoder = strictUtf8Decoder()
  try {
    return decoder.decode(bytes)
  } catch {
    throw new Error(`${path}:${firstBadLine(bytes, decoder)}: not valid UTF-8`)
  }
}

function firstBadLine(bytes: Uint8Array, decoder: TextDecoder): number {
  let line = 1
  for (let start = 0; start < bytes.length; line++) {
    const newline = bytes.indexOf(0x0a, start)
    const end = newline < 0 ? bytes.length : newline
    try {
      decoder.decode(bytes.subarray(start, end))
    } catch {
      return line
    }
    start = end + 1
  }
  return line
}
