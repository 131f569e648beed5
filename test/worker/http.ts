// How the workerd tests call the Worker: through its real entry point with the
// configured bindings, or through the same app with some bindings overridden
// (an API key, other limits, an instrumented bucket).
import { env, exports } from 'cloudflare:workers'
import { expect } from 'vitest'
import { z } from 'zod'
import { app } from '../../src/worker/app.ts'
import type { Env } from '../../src/worker/env.ts'

export const ORIGIN = 'https://gdr.test'

export type Call = (path: string, init?: RequestInit) => Promise<Response>

/** The deployed shape: the Worker module's fetch, wrangler.toml's vars. */
export const viaWorker: Call = (path, init) => exports.default.fetch(`${ORIGIN}${path}`, init)

/** The same app with some bindings replaced; each call gets the same env object, as in production. */
export function withEnv(overrides: Partial<Env>, handler: { fetch: typeof app.fetch } = app): Call {
  const patched: Env = { ...(env as Env), ...overrides }
  return async (path, init) => handler.fetch(new Request(`${ORIGIN}${path}`, init), patched)
}

/** A JSON POST: a value to serialize, or the body as is (text, or bytes that may not be UTF-8). */
export const postJson = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
})

export const ErrorBodySchema = z.strictObject({ error: z.strictObject({ code: z.string(), message: z.string().min(1) }) })

export const SearchBodySchema = z.strictObject({
  results: z.array(z.strictObject({ id: z.string(), title: z.string(), snippet: z.string(), score: z.number() })),
  clusters: z.array(z.strictObject({ cid: z.array(z.number().int().nonnegative()), prob: z.number().min(0).max(1), docs: z.number().int().nonnegative() })).min(1),
  degraded: z.boolean(),
  skipped: z.array(
    z.union([
      z.strictObject({ cid: z.array(z.number().int().nonnegative()), display: z.literal(true).optional(), reason: z.enum(['missing', 'corrupt', 'timeout', 'unreadable']) }),
      z.strictObject({ lexiconPart: z.number().int().nonnegative(), reason: z.enum(['missing', 'corrupt', 'timeout', 'unreadable']) }),
    ]),
  ),
  index: z.string().min(1),
  took_ms: z.number().nonnegative(),
})
export type SearchBody = z.infer<typeof SearchBodySchema>

/** A JSON error with this status and code, and nothing that looks like a stack trace. */
export async function expectError(response: Response, status: number, code: string, what = ''): Promise<string> {
  const text = await response.text()
  expect(response.status, `${what} → ${text}`).toBe(status)
  expect(response.headers.get('content-type'), what).toMatch(/^application\/json/)
  const body = ErrorBodySchema.parse(JSON.parse(text))
  expect(body.error.code, what).toBe(code)
  expect(text, what).not.toMatch(/\bat \S+ \(|\.ts:\d+|node_modules/)
  return body.error.message
}

export async function expectResults(response: Response, what = ''): Promise<SearchBody> {
  const text = await response.text()
  expect(response.status, `${what} → ${text}`).toBe(200)
  return SearchBodySchema.parse(JSON.parse(text))
}
