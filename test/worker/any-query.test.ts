// Property: whatever string a client sends as q, by GET (percent-encoded, lone
// surrogates as their WTF-8 bytes) or POST (JSON, or any bytes), the Worker answers either
// 200 with a well-formed result list or 400 `bad_request`, exactly as the rules say.
import { env } from 'cloudflare:workers'
import fc from 'fast-check'
import { beforeAll, describe, expect, inject, it } from 'vitest'
import { putIndex } from './fixtures.ts'
import { ErrorBodySchema, postJson, SearchBodySchema, viaWorker } from './http.ts'

const MAX_QUERY_CHARS = 1000
const RUNS = 150

beforeAll(async () => {
  await putIndex(env.INDEX, inject('tinyIndex'))
})

const anyUtf16 = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((u) => String.fromCharCode(u)), maxLength: 40 })
const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }), // any code point
  anyUtf16, // any UTF-16 code units: lone surrogates, NUL, controls
  fc.string({ unit: 'grapheme', maxLength: 20 }), // emoji, combining sequences, RTL scripts
  fc.constantFrom('', ' ', '\u00a0\u2003\ufeff', '\uD800', '\uDFFF\uD800', 'a\u0000b', '\u202Eabc', '🙂'.repeat(1000), '🙂'.repeat(1001)),
  fc.string({ unit: 'grapheme-ascii', minLength: MAX_QUERY_CHARS - 3, maxLength: MAX_QUERY_CHARS + 3 }), // around the limit
)

const codePoints = (s: string) => [...s].length
const isWellFormed = (s: string) => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s)
const qIsValid = (q: string) => q.trim() !== '' && codePoints(q.trim()) <= MAX_QUERY_CHARS

/** Every code point as UTF-8 bytes, a lone surrogate as its 3-byte (WTF-8) form, every byte as %XX. */
function percentEncodeWtf8(text: string): string {
  let out = ''
  for (const ch of text) {
    const cp = ch.codePointAt(0)!
    const bytes =
      cp < 0x80 ? [cp]
      : cp < 0x800 ? [0xc0 | (cp >> 6), 0x80 | (cp & 63)]
      : cp < 0x10000 ? [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63)]
      : [0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63)]
    for (const b of bytes) out += '%' + b.toString(16).toUpperCase().padStart(2, '0')
  }
  return out
}

async function expectShape(response: Response, status: 200 | 400, k: number, what: string) {
  const text = await response.text()
  expect(response.status, `${what} → ${text.slice(0, 300)}`).toBe(status)
  expect(response.headers.get('content-type')).toMatch(/^application\/json/)
  const json = JSON.parse(text)
  if (status === 400) {
    expect(ErrorBodySchema.parse(json).error.code).toBe('bad_request')
  } else {
    const body = SearchBodySchema.parse(json)
    expect(body.results.length).toBeLessThanOrEqual(k)
    expect(body.degraded).toBe(false)
  }
}

describe('any query string yields a valid response', () => {
  it('through GET, percent-encoded', async () => {
    await fc.assert(
      fc.asyncProperty(anyText, fc.option(fc.integer({ min: 0, max: 101 }), { nil: undefined }), async (q, k) => {
        const query = `q=${percentEncodeWtf8(q)}${k === undefined ? '' : `&k=${k}`}`
        // Invalid UTF-8 (a lone surrogate) is refused rather than searched for as something else.
        const ok = isWellFormed(q) && qIsValid(q) && (k === undefined || (k >= 1 && k <= 100))
        await expectShape(await viaWorker(`/search?${query}`), ok ? 200 : 400, k ?? 10, JSON.stringify(q).slice(0, 80))
      }),
      { numRuns: RUNS },
    )
  })

  it('through GET, from arbitrary bytes', async () => {
    const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 24 }), async (bytes) => {
        let decoded: string | undefined
        try {
          decoded = utf8.decode(bytes)
        } catch {
          decoded = undefined
        }
        const query = [...bytes].map((b) => '%' + b.toString(16).padStart(2, '0')).join('')
        await expectShape(await viaWorker(`/search?q=${query}`), decoded !== undefined && qIsValid(decoded) ? 200 : 400, 10, query)
      }),
      { numRuns: RUNS },
    )
  })

  it('through POST, from arbitrary bytes in a JSON string', async () => {
    const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })
    const encode = (text: string) => new TextEncoder().encode(text)
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 24 }), async (bytes) => {
        const body = Uint8Array.from([...encode('{"q":"'), ...bytes, ...encode('"}')])
        let q: unknown
        try {
          q = JSON.parse(utf8.decode(body)).q
        } catch {
          q = undefined // not UTF-8, or not JSON (a raw quote, backslash or control byte)
        }
        const what = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ')
        await expectShape(await viaWorker('/search', postJson(body)), typeof q === 'string' && qIsValid(q) ? 200 : 400, 10, what)
      }),
      { numRuns: RUNS },
    )
  })

  it('through POST, as JSON', async () => {
    const anyK = fc.oneof(fc.constant(undefined), fc.integer({ min: -2, max: 102 }), fc.double(), fc.string({ maxLength: 3 }), fc.constant(null))
    await fc.assert(
      fc.asyncProperty(anyText, anyK, async (q, k) => {
        const kOk = k === undefined || (typeof k === 'number' && Number.isInteger(k) && k >= 1 && k <= 100)
        await expectShape(await viaWorker('/search', postJson(k === undefined ? { q } : { q, k })), qIsValid(q) && kOk ? 200 : 400, typeof k === 'number' ? k : 10, JSON.stringify(q).slice(0, 80))
      }),
      { numRuns: RUNS },
    )
  })
})
