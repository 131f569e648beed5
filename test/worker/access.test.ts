// Access control through hono's own middleware: public by default, a bearer key
// when SEARCH_API_KEY is set, CORS from CORS_ORIGINS, and no route that writes to R2.
import { env } from 'cloudflare:workers'
import { beforeAll, describe, expect, inject, it } from 'vitest'
import type { Env } from '../../src/worker/env.ts'
import { putIndex } from './fixtures.ts'
import { expectError, expectResults, postJson, viaWorker, withEnv } from './http.ts'

const KEY = 'test-key.With~all_token68+chars/-=='

beforeAll(async () => {
  await putIndex(env.INDEX, inject('tinyIndex'))
})

describe('without SEARCH_API_KEY', () => {
  it('search is public', async () => {
    expect(env.SEARCH_API_KEY).toBeUndefined()
    await expectResults(await viaWorker('/search?q=bread'))
    await expectResults(await viaWorker('/search', postJson({ q: 'bread' })))
    // An Authorization header is simply ignored.
    await expectResults(await viaWorker('/search?q=bread', { headers: { authorization: 'Bearer whatever' } }))
  })

  it('treats an empty key as not set', async () => {
    await expectResults(await withEnv({ SEARCH_API_KEY: '' })('/search?q=bread'))
  })
})

describe('with SEARCH_API_KEY', () => {
  const call = withEnv({ SEARCH_API_KEY: KEY })

  it('answers the right bearer key, on GET and POST', async () => {
    await expectResults(await call('/search?q=bread', { headers: { authorization: `Bearer ${KEY}` } }))
    await expectResults(await call('/search', postJson({ q: 'bread' }, { authorization: `Bearer ${KEY}` })))
    await expectResults(await call('/search?q=bread', { headers: { authorization: `bearer ${KEY}` } }), 'scheme is case-insensitive')
  })

  it('answers 401 with WWW-Authenticate to anything else', async () => {
    const wrong = [
      undefined,
      '',
      `Bearer ${KEY}x`,
      `Bearer ${KEY.slice(0, -1)}`,
      `Bearer ${KEY.toUpperCase()}`,
      'Bearer ',
      `Basic ${btoa(`user:${KEY}`)}`,
      KEY,
      `Bearer ${KEY} extra`,
    ]
    for (const authorization of wrong) {
      const response = await call('/search?q=bread', { headers: authorization === undefined ? {} : { authorization } })
      expect(response.headers.get('www-authenticate'), authorization).toMatch(/^Bearer/)
      await expectError(response, 401, 'unauthorized', String(authorization))
    }
    await expectError(await call('/search', postJson({ q: 'bread' })), 401, 'unauthorized', 'POST')
    await expectError(await call('/nowhere'), 401, 'unauthorized', 'unknown routes too: nothing is revealed')
  })

  it('checks the key before reading the body or the query', async () => {
    await expectError(await call('/search?q=%ED%A0%80'), 401, 'unauthorized')
    await expectError(await call('/search', postJson('{')), 401, 'unauthorized')
  })

  it('keeps /healthz and CORS preflights public', async () => {
    expect((await call('/healthz')).status).toBe(200)
    const preflight = await call('/search', { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' } })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization')
  })
})

describe('CORS', () => {
  it('allows any origin by default', async () => {
    const response = await viaWorker('/search?q=bread', { headers: { origin: 'https://anywhere.example' } })
    expect(response.headers.get('access-control-allow-origin')).toBe('*')
    await expectResults(response)
  })

  it('allows only the configured origins', async () => {
    const call = withEnv({ CORS_ORIGINS: 'https://a.example, https://b.example:8443' })
    for (const origin of ['https://a.example', 'https://b.example:8443']) {
      const response = await call('/search?q=bread', { headers: { origin } })
      expect(response.headers.get('access-control-allow-origin'), origin).toBe(origin)
      expect(response.headers.get('vary')).toMatch(/origin/i)
    }
    for (const origin of ['https://evil.example', 'https://a.example.evil', 'http://a.example', 'null']) {
      const response = await call('/search?q=bread', { headers: { origin } })
      expect(response.headers.get('access-control-allow-origin'), origin).toBeNull()
    }
    const preflight = await call('/search', { method: 'OPTIONS', headers: { origin: 'https://a.example', 'access-control-request-method': 'POST' } })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('access-control-allow-methods')).toBe('GET,POST,OPTIONS')
  })

  it('lets browsers read error responses too', async () => {
    const call = withEnv({ SEARCH_API_KEY: KEY, CORS_ORIGINS: 'https://a.example' })
    const denied = await call('/search?q=bread', { headers: { origin: 'https://a.example' } })
    expect(denied.headers.get('access-control-allow-origin')).toBe('https://a.example')
    await expectError(denied, 401, 'unauthorized')
    const bad = await call('/search?q=', { headers: { origin: 'https://a.example', authorization: `Bearer ${KEY}` } })
    expect(bad.headers.get('access-control-allow-origin')).toBe('https://a.example')
    await expectError(bad, 400, 'bad_request')
  })
})

describe('R2 is read-only to the Worker', () => {
  // Checked by tsc (npm test): the Worker's Env has a bucket type without writing methods.
  function _noWritesByType(workerEnv: Env) {
    // @ts-expect-error no put
    void workerEnv.INDEX.put
    // @ts-expect-error no delete
    void workerEnv.INDEX.delete
    // @ts-expect-error no multipart uploads
    void workerEnv.INDEX.createMultipartUpload
  }
  void _noWritesByType

  it('no request, whatever its method or path, calls a writing method of the bucket', async () => {
    const writes: string[] = []
    const readOnly = new Proxy(env.INDEX, {
      get(target, property, receiver) {
        if (property === 'get' || property === 'head' || property === 'list') return Reflect.get(target, property, receiver).bind(target)
        return () => {
          writes.push(String(property))
          throw new Error(`R2 ${String(property)} called`)
        }
      },
    })
    const call = withEnv({ INDEX: readOnly })
    for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH']) {
      for (const path of ['/search?q=bread', '/search', '/healthz', '/', '/index', '/v1/index', '/shards/x']) {
        const init: RequestInit = method === 'GET' ? { method } : { method, headers: { 'content-type': 'application/json' }, body: '{"q":"bread"}' }
        const response = await call(path, init)
        expect(response.status, `${method} ${path}`).toBeLessThan(500)
      }
    }
    expect(writes).toEqual([])
  })
})
