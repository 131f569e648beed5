// Who may call the Worker and with what: hono's own cors, body-limit and
// bearer-auth middleware, configured from settings. They are built per
// configuration (not per request) and answer with our JSON error shape.

import type { Context, MiddlewareHandler } from 'hono'
import { bearerAuth } from 'hono/bearer-auth'
import { bodyLimit } from 'hono/body-limit'
import { cors } from 'hono/cors'
import type { Env } from './env.ts'
import { errorBody } from './errors.ts'
import { MAX_BODY_BYTES } from './search-params.ts'
import { settingsOf } from './settings.ts'

type AppEnv = { Bindings: Env }

/** Routes that never need the API key: load balancers and uptime checks call them. */
export const PUBLIC_PATHS = new Set(['/healthz'])

const corsByOrigins = new Map<string, MiddlewareHandler<AppEnv>>()

/** CORS for every route; preflights (OPTIONS) are answered here, before auth (browsers send no credentials on them). */
export const corsPolicy: MiddlewareHandler<AppEnv> = (c, next) => {
  const origins = settingsOf(c.env).corsOrigins
  const id = origins === '*' ? '*' : origins.join(',')
  let handler = corsByOrigins.get(id)
  if (!handler) {
    handler = cors({
      origin: origins,
      allowMethods: ['GET', 'POST', 'OPTIONS'],
      allowHeaders: ['Content-Type', 'Authorization'],
      maxAge: 600,
    })
    corsByOrigins.set(id, handler)
  }
  return handler(c, next)
}

/** Bodies over MAX_BODY_BYTES get 413 without being buffered past the limit. */
export const bodySizeLimit: MiddlewareHandler<AppEnv> = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: (c) => c.json(errorBody('payload_too_large', `request body must be at most ${MAX_BODY_BYTES} bytes`), 413),
})

const authByKey = new Map<string, MiddlewareHandler<AppEnv>>()

/**
 * Public unless SEARCH_API_KEY is set; then `Authorization: Bearer <key>`,
 * compared by hono's timingSafeEqual (hashes both sides, then a constant-time compare).
 */
export const apiKeyCheck: MiddlewareHandler<AppEnv> = (c, next) => {
  const key = settingsOf(c.env).apiKey
  if (key === undefined || PUBLIC_PATHS.has(c.req.path)) return next()
  let handler = authByKey.get(key)
  if (!handler) {
    authByKey.clear() // one key at a time: a rotated secret must not stay valid here
    handler = bearerAuth({
      token: key,
      // A Response message is sent as is (hono adds WWW-Authenticate). Every
      // failure is a 401, a malformed header too (hono's default there is 400).
      noAuthenticationHeader: { message: unauthorized('this service needs "Authorization: Bearer <key>"') },
      invalidAuthenticationHeader: { message: unauthorized('the Authorization header must be "Bearer <key>"') },
      invalidToken: { message: unauthorized('the API key is not valid') },
    })
    authByKey.set(key, handler)
  }
  return handler(c, next)
}

function unauthorized(message: string) {
  return (c: Context) => c.json(errorBody('unauthorized', message), 401)
}
