// HTTP routes. Every error is JSON `{error: {code, message}}` with the status
// its code implies (errors.ts), never a stack trace. The Worker only reads R2.

import { Hono, type Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { Env } from './env.ts'
import { errorBody, ServiceError } from './errors.ts'
import { apiKeyCheck, bodySizeLimit, corsPolicy } from './access.ts'
import { acquireIndex, currentIndex } from './index-store.ts'
import { wasmMemoryBytes } from '../core/wasm-memory.ts'
import { prefetchLexicon, search } from './search.ts'
import { cachedShardBytes, cachedShardKeys } from './shard-cache.ts'
import { decodeBody, parseGetParams, parsePostBody, type SearchParams } from './search-params.ts'
import { serverTimingHeader, type SearchTimings } from './server-timing.ts'
import { settingsOf } from './settings.ts'

export const app = new Hono<{ Bindings: Env }>()

// In this order: preflights need no key, and no body is read for a caller without one.
app.use('*', corsPolicy)
app.use('*', apiKeyCheck)
app.use('*', bodySizeLimit)

app.get('/healthz', (c) => c.json({ ok: true }))

// The version being served: what a publish or rollback has switched to.
app.get('/v1/index', async (c) => {
  const { name, pointer, manifest } = await currentIndex(c.env, executionContext(c))
  return c.json({
    name,
    version: manifest.version,
    docs: manifest.docs,
    shards: manifest.shards.length,
    createdAt: manifest.createdAt,
    publishedAt: pointer.publishedAt,
    // What this isolate holds beyond the JS heap (gdr bench adds V8's heap figures from the inspector).
    isolate: { wasmMemoryBytes: wasmMemoryBytes(), shardCacheBytes: cachedShardBytes(), shardsCached: cachedShardKeys().length },
  })
})

app.get('/search', async (c) => {
  const settings = settingsOf(c.env)
  return c.json(await answer(c, parseGetParams(c.req.url, settings.maxQueryChars), settings.shardTimeoutMs))
})

app.post('/search', async (c) => {
  const settings = settingsOf(c.env)
  const mediaType = (c.req.header('content-type') ?? '').split(';')[0].trim().toLowerCase()
  if (mediaType !== 'application/json') throw ServiceError.of('unsupported_media_type', 'POST /search needs "Content-Type: application/json"')
  const params = parsePostBody(decodeBody(await c.req.arrayBuffer()), settings.maxQueryChars)
  return c.json(await answer(c, params, settings.shardTimeoutMs))
})

// Registered after the routes they guard: any other method on a known path is a 405, not a 404.
allowOnly('/healthz', ['GET', 'HEAD'])
allowOnly('/v1/index', ['GET', 'HEAD'])
allowOnly('/search', ['GET', 'HEAD', 'POST'])

/** Answers every other method on `path` with 405 and an `Allow` header (OPTIONS: CORS preflights, answered by corsPolicy). */
function allowOnly(path: string, methods: string[]) {
  const allow = [...methods, 'OPTIONS'].join(', ')
  app.all(path, (c) => {
    c.header('Allow', allow)
    return c.json(errorBody('method_not_allowed', `${c.req.method} is not allowed on ${path}; use ${methods.join(', ')}`), 405)
  })
}

// The version is taken once: the whole request runs on it even if the pointer moves meanwhile.
async function answer(c: Context<{ Bindings: Env }>, params: SearchParams, shardTimeoutMs: number) {
  const started = Date.now()
  const leasing = acquireIndex(c.env, executionContext(c))
  prefetchLexicon(c.env, params.q, shardTimeoutMs)
  const lease = await leasing
  const indexMs = Date.now() - started
  const timings: SearchTimings = { modelMs: 0, routeMs: 0, r2Ms: 0, scoreMs: 0 }
  const body = await search(c.env, lease.index, { q: params.q, k: params.k, shardTimeoutMs, timings })
  c.header('Server-Timing', serverTimingHeader(indexMs, timings, lease.load))
  return body
}

// Hono throws when there is none (app.fetch called without one).
function executionContext(c: Context): Pick<ExecutionContext, 'waitUntil'> | undefined {
  try {
    return c.executionCtx
  } catch {
    return undefined
  }
}

app.notFound((c) => c.json(errorBody('not_found', `no route ${c.req.method} ${new URL(c.req.url).pathname}`), 404))

app.onError((error, c) => {
  if (error instanceof ServiceError) return c.json(errorBody(error.code, error.message), error.status)
  // Raised by hono's middleware (their responses are already JSON, see access.ts).
  if (error instanceof HTTPException) return error.getResponse()
  console.error('unhandled', error)
  return c.json(errorBody('internal', 'internal error'), 500)
})
