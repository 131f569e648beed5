// Garbage in, a clear 4xx out: every malformed request gets a JSON error with
// the right status and code, never a 500 and never a stack trace.
import { env } from 'cloudflare:workers'
import { beforeAll, describe, expect, inject, it } from 'vitest'
import { putIndex } from './fixtures.ts'
import { expectError, expectResults, postJson, viaWorker, withEnv } from './http.ts'

beforeAll(async () => {
  await putIndex(env.INDEX, inject('tinyIndex'))
})

describe('GET /search parameters', () => {
  it('accepts any Unicode a client can percent-encode: emoji, RTL, combining marks, NUL', async () => {
    for (const q of ['🙂 bread', 'שלום עולם', 'e\u0301te\u0301', 'a\u0000b', '\u202Eevil', 'tab\there']) {
      await expectResults(await viaWorker(`/search?q=${encodeURIComponent(q)}`), q)
    }
    await expectResults(await viaWorker('/search?q=sourdough+bread&k=3'), '+ is a space')
  })

  it('rejects a missing, empty or too long q', async () => {
    expect(await expectError(await viaWorker('/search'), 400, 'bad_request')).toBe('q is required')
    expect(await expectError(await viaWorker('/search?k=3'), 400, 'bad_request')).toBe('q is required')
    for (const q of ['', '%20%20', '%09%0A', 'a'.repeat(1001)]) {
      await expectError(await viaWorker(`/search?q=${q}`), 400, 'bad_request', q.slice(0, 20))
    }
  })

  it('counts q in code points, after trimming', async () => {
    await expectResults(await viaWorker(`/search?q=${encodeURIComponent('🙂'.repeat(1000))}`), '1000 emoji')
    await expectResults(await viaWorker(`/search?q=${encodeURIComponent(`  ${'a'.repeat(1000)}  `)}`), 'padded')
    await expectError(await viaWorker(`/search?q=${encodeURIComponent('🙂'.repeat(1001))}`), 400, 'bad_request', '1001 emoji')
  })

  it('honours MAX_QUERY_CHARS', async () => {
    const call = withEnv({ MAX_QUERY_CHARS: '20' })
    await expectResults(await call(`/search?q=${'b'.repeat(20)}`))
    expect(await expectError(await call(`/search?q=${'b'.repeat(21)}`), 400, 'bad_request')).toMatch(/at most 20/)
  })

  it('rejects k that is not an integer from 1 to 100', async () => {
    for (const k of ['0', '101', '2.5', 'abc', '1e1', '+5', '-1', '', '%205', '99999999999999999999']) {
      expect(await expectError(await viaWorker(`/search?q=x&k=${k}`), 400, 'bad_request', `k=${k}`)).toMatch(/^k must be/)
    }
    expect((await expectResults(await viaWorker('/search?q=bread&k=100'))).results.length).toBeLessThanOrEqual(100)
  })

  it('rejects unknown and repeated parameters', async () => {
    expect(await expectError(await viaWorker('/search?q=x&limit=5'), 400, 'bad_request')).toMatch(/unknown parameter "limit"/)
    await expectError(await viaWorker('/search?q=x&__proto__=1'), 400, 'bad_request', '__proto__')
    await expectError(await viaWorker('/search?q=x&constructor=1'), 400, 'bad_request', 'constructor')
    expect(await expectError(await viaWorker('/search?q=a&q=b'), 400, 'bad_request')).toMatch(/"q": given more than once/)
    expect(await expectError(await viaWorker(`/search?q=x&${'z'.repeat(5000)}=1`), 400, 'bad_request')).toMatch(/…/)
  })

  it('refuses percent-encoding that is not UTF-8 instead of searching for the raw escapes', async () => {
    // %ED%A0%80 is a lone surrogate (U+D800) in WTF-8; %uD800 is the non-standard escape() form.
    for (const q of ['%ED%A0%80', '%uD800', '%FF', '%C3', '%zz', '100%', '%E2%82']) {
      expect(await expectError(await viaWorker(`/search?q=${q}`), 400, 'bad_request', q)).toMatch(/percent-encoded UTF-8/)
    }
    await expectError(await viaWorker('/search?%ED%A0%80=x&q=a'), 400, 'bad_request', 'bad name')
  })
})

describe('POST /search bodies', () => {
  it('accepts JSON with any string, lone surrogates included', async () => {
    for (const q of ['\uD800', '\uDC00x\uD800', '🙂', 'a\u0000b']) await expectResults(await viaWorker('/search', postJson({ q })), JSON.stringify(q))
    await expectResults(await viaWorker('/search', postJson({ q: 'bread' }, { 'content-type': 'application/json; charset=utf-8' })))
  })

  it('rejects malformed JSON and JSON of the wrong shape', async () => {
    for (const body of ['{', '', 'nul', '{"q": "x",}', "{'q': 'x'}"]) {
      expect(await expectError(await viaWorker('/search', postJson(body)), 400, 'bad_request', body)).toMatch(/must be JSON/)
    }
    for (const body of ['null', '[]', '"bread"', '42', '[{"q":"x"}]']) {
      expect(await expectError(await viaWorker('/search', postJson(body)), 400, 'bad_request', body)).toMatch(/JSON object/)
    }
    const cases: [unknown, RegExp][] = [
      [{}, /q is required/],
      [{ q: 5 }, /q must be a string/],
      [{ q: null }, /q must be a string/],
      [{ q: '   ' }, /q must not be empty/],
      [{ q: 'x', k: '5' }, /^k must be/],
      [{ q: 'x', k: 2.5 }, /^k must be/],
      [{ q: 'x', k: 0 }, /^k must be/],
      [{ q: 'x', k: null }, /^k must be/],
      [{ q: 'x', extra: true }, /unknown parameter "extra"/],
    ]
    for (const [body, message] of cases) {
      expect(await expectError(await viaWorker('/search', postJson(body)), 400, 'bad_request', JSON.stringify(body))).toMatch(message)
    }
    await expectError(await viaWorker('/search', postJson('{"q":"x","__proto__":{"k":5}}')), 400, 'bad_request', 'own __proto__ key')
  })

  it('refuses a body that is not valid UTF-8 instead of searching for U+FFFD, as GET does', async () => {
    const utf8 = (text: string) => new TextEncoder().encode(text)
    const withQ = (qBytes: number[]) => Uint8Array.from([...utf8('{"q":"bread '), ...qBytes, ...utf8('"}')])
    // A stray byte, a lone surrogate (U+D800 as WTF-8), an overlong "/", a truncated "€", a code point past U+10FFFF.
    for (const bad of [[0xff], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80]]) {
      const what = bad.map((b) => b.toString(16)).join(' ')
      expect(await expectError(await viaWorker('/search', postJson(withQ(bad))), 400, 'bad_request', what)).toBe('the body is not valid UTF-8')
    }
    await expectResults(await viaWorker('/search', postJson(withQ([...utf8('🙂 é')]))), 'valid multi-byte UTF-8')
    await expectResults(await viaWorker('/search', postJson(Uint8Array.from([0xef, 0xbb, 0xbf, ...utf8('{"q":"bread"}')]))), 'a leading BOM')
  })

  it('rejects a parameter given more than once, as in a query string', async () => {
    const repeated: [string, string][] = [
      ['{"q":"onnx","k":1,"k":2}', 'k'],
      ['{"q":"a","q":"b"}', 'q'],
      ['{"q":"x","\\u006b":1,"k":2}', 'k'], // the same key to JSON.parse, escaped once
      ['{"q":"x","extra":1,"extra":2}', 'extra'],
    ]
    for (const [body, name] of repeated) {
      expect(await expectError(await viaWorker('/search', postJson(body)), 400, 'bad_request', body)).toBe(`"${name}": given more than once`)
    }
    // Keys inside values are not parameters.
    await expectResults(await viaWorker('/search', postJson('{"q":"{\\"k\\":1,\\"k\\":2}","k":2}')), 'key-like q')
  })

  it('needs Content-Type: application/json (415 otherwise)', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx']) {
      await expectError(await viaWorker('/search', { method: 'POST', headers: { 'content-type': type }, body: '{"q":"x"}' }), 415, 'unsupported_media_type', type)
    }
    await expectError(await viaWorker('/search', { method: 'POST', body: new Uint8Array([123, 125]) }), 415, 'unsupported_media_type', 'no type')
  })

  it('refuses bodies over 64 KB with 413, declared or streamed', async () => {
    const big = JSON.stringify({ q: 'x'.repeat(64 * 1024) })
    expect(await expectError(await viaWorker('/search', postJson(big)), 413, 'payload_too_large')).toMatch(/65536 bytes/)
    // No Content-Length: the limit is counted while reading.
    const chunks = [new TextEncoder().encode('{"q":"'), new Uint8Array(70 * 1024).fill(120), new TextEncoder().encode('"}')]
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift()
        if (next) controller.enqueue(next)
        else controller.close()
      },
    })
    await expectError(await viaWorker('/search', { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream }), 413, 'payload_too_large', 'streamed')
    // Just under the limit is read, then judged on q's length.
    const under = JSON.stringify({ q: 'x'.repeat(60 * 1024) })
    await expectError(await viaWorker('/search', postJson(under)), 400, 'bad_request', 'under the limit')
  })
})

describe('routes', () => {
  it('answers other methods on each route with 405 and Allow', async () => {
    const routes = [
      ['/search?q=x', ['PUT', 'DELETE', 'PATCH'], 'GET, HEAD, POST, OPTIONS'],
      ['/healthz', ['POST', 'PUT', 'DELETE', 'PATCH'], 'GET, HEAD, OPTIONS'],
      ['/v1/index', ['POST', 'PUT', 'DELETE', 'PATCH'], 'GET, HEAD, OPTIONS'],
    ] as const
    for (const [path, methods, allow] of routes) {
      for (const method of methods) {
        const response = await viaWorker(path, { method })
        expect(response.headers.get('allow'), `${method} ${path}`).toBe(allow)
        await expectError(response, 405, 'method_not_allowed', `${method} ${path}`)
      }
    }
  })

  it('answers HEAD like GET, without a body', async () => {
    for (const path of ['/search?q=bread', '/healthz', '/v1/index']) {
      const response = await viaWorker(path, { method: 'HEAD' })
      expect(response.status, path).toBe(200)
      expect(await response.text(), path).toBe('')
    }
    expect((await viaWorker('/search?q=', { method: 'HEAD' })).status).toBe(400)
  })

  it('answers unknown routes with a JSON 404', async () => {
    for (const path of ['/', '/search/x', '/v0/search', '/%ED%A0%80', '/healthz/../../etc/passwd']) await expectError(await viaWorker(path), 404, 'not_found', path)
  })

  it('fails closed with 500 misconfigured (not the value) when a setting is invalid', async () => {
    const invalid = [
      { MAX_QUERY_CHARS: 'lots' },
      { SHARD_TIMEOUT_MS: '-5' },
      { CORS_ORIGINS: 'example.com' },
      { SEARCH_API_KEY: 'has spaces in it' },
      { INDEX_NAME: 'team/search' },
      { INDEX_POINTER: 'Bad Name!' },
      { INDEX_POINTER: ' current' },
      // Plain decimal numbers only, like the other numeric settings.
      ...['soon', '-1', '0x10', '1e3', '+5', '.5', 'Infinity', '9'.repeat(400)].map((ttl) => ({ POINTER_TTL_SECONDS: ttl })),
    ]
    for (const overrides of invalid) {
      for (const path of ['/search?q=x', '/v1/index']) {
        const message = await expectError(await withEnv(overrides)(path), 500, 'misconfigured', `${path} ${JSON.stringify(overrides)}`)
        expect(message).not.toContain(Object.values(overrides)[0])
      }
    }
  })

  it('takes a blank setting for its default, and a fractional pointer TTL', async () => {
    for (const overrides of [{ INDEX_NAME: '  ' }, { INDEX_POINTER: '' }, { INDEX_POINTER: '  ' }, { POINTER_TTL_SECONDS: ' ' }, { POINTER_TTL_SECONDS: ' 0.25 ' }, { POINTER_TTL_SECONDS: '0' }]) {
      expect((await withEnv(overrides)('/v1/index')).status, JSON.stringify(overrides)).toBe(200)
    }
  })
})
