// HTTP routes. Every error is JSON `{error: {code, message}}`, never a stack trace.

import { Hono, type Context } from 'hono'
import { z } from 'zod'
import type { Env } from './env.ts'
import { errorBody, ServiceError } from './errors.ts'
import { acquireIndex, currentIndex } from './index-store.ts'
import { search, type SearchResponse } from './search.ts'

export const MAX_QUERY_CHARS = 1000
export const MAX_K = 100
export const DEFAULT_K = 10

const SearchParams = z.object({
  q: z.string().trim().min(1, 'q must not be empty').max(MAX_QUERY_CHARS, `q must be at most ${MAX_QUERY_CHARS} characters`),
  k: z.coerce.number().int('k must be an integer').min(1).max(MAX_K).default(DEFAULT_K),
})

export const app = new Hono<{ Bindings: Env }>()

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
  })
})

app.get('/search', async (c) => {
  const params = parseParams({ q: c.req.query('q'), k: c.req.query('k') })
  return c.json(await searchCurrent(c, params))
})

app.post('/search', async (c) => {
  let body: unknown
  try {
    body = await c.req.json()
  } catch {
    throw new ServiceError(400, 'bad_request', 'body must be JSON: {"q": string, "k"?: number}')
  }
  const params = parseParams(body)
  return c.json(await searchCurrent(c, params))
})

app.notFound((c) => c.json(errorBody('not_found', `no route ${c.req.method} ${new URL(c.req.url).pathname}`), 404))

app.onError((error, c) => {
  if (error instanceof ServiceError) return c.json(errorBody(error.code, error.message), error.status)
  console.error('unhandled', error)
  return c.json(errorBody('internal', 'internal error'), 500)
})

// The version is taken once: the whole request runs on it even if the pointer moves meanwhile.
async function searchCurrent(c: Context<{ Bindings: Env }>, params: z.infer<typeof SearchParams>): Promise<SearchResponse> {
  const lease = await acquireIndex(c.env, executionContext(c))
  try {
    return await search(c.env, lease.index, params.q, params.k)
  } finally {
    lease.done()
  }
}

// Hono throws when there is none (app.fetch called without one).
function executionContext(c: Context): Pick<ExecutionContext, 'waitUntil'> | undefined {
  try {
    return c.executionCtx
  } catch {
    return undefined
  }
}

function parseParams(input: unknown): z.infer<typeof SearchParams> {
  const result = SearchParams.safeParse(input ?? {})
  if (!result.success) {
    const issue = result.error.issues[0]
    const field = issue.path.join('.') || 'request'
    throw new ServiceError(400, 'bad_request', `${field}: ${issue.message}`)
  }
  return result.data
}
