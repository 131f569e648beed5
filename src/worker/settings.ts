// The Worker's settings, parsed once per env object from its string vars and
// secrets. A bad value is an operator's mistake: it fails every request with
// 500 `misconfigured` (details in the log) rather than being silently ignored.

import { z } from 'zod'
import { DEFAULT_POINTER, INDEX_NAME_RULE, isIndexName, POINTER_NAME } from '../core/manifest.ts'
import { MAX_QUERY_CHARS } from '../core/query-text.ts'
import { DEFAULT_INDEX_NAME, DEFAULT_POINTER_TTL_SECONDS, type Env } from './env.ts'
import { ServiceError } from './errors.ts'

export const DEFAULTS = {
  maxQueryChars: MAX_QUERY_CHARS,
  shardTimeoutMs: 2000,
  corsOrigins: '*',
  indexName: DEFAULT_INDEX_NAME,
  pointerName: DEFAULT_POINTER,
  pointerTtlSeconds: DEFAULT_POINTER_TTL_SECONDS,
} as const

/** Characters hono's bearer-auth accepts in a token (RFC 6750 token68); any other key could never match. */
const TOKEN68 = /^[A-Za-z0-9._~+/-]+=*$/

const positiveInteger = (max: number) => z.string().trim().regex(/^\d+$/, 'expected a positive integer').transform(Number).pipe(z.number().int().min(1).max(max))

// Plain decimal notation only, as for the integers: "0x10", "1e3", "+5", ".5" and "Infinity" are refused.
const nonNegativeDecimal = z.string().trim().regex(/^\d+(\.\d+)?$/, 'expected a non-negative decimal number, like 5 or 0.5').transform(Number).pipe(z.number())

const SettingsSchema = z.object({
  MAX_QUERY_CHARS: positiveInteger(100_000).default(DEFAULTS.maxQueryChars),
  SHARD_TIMEOUT_MS: positiveInteger(60_000).default(DEFAULTS.shardTimeoutMs),
  INDEX_NAME: z.string().refine(isIndexName, `expected an index name (${INDEX_NAME_RULE})`).default(DEFAULTS.indexName),
  INDEX_POINTER: z.string().regex(POINTER_NAME, 'expected a pointer name: a-z 0-9 _ - (not starting with _ or -)').default(DEFAULTS.pointerName),
  POINTER_TTL_SECONDS: nonNegativeDecimal.default(DEFAULTS.pointerTtlSeconds),
  CORS_ORIGINS: z
    .string()
    .default(DEFAULTS.corsOrigins)
    .transform((text) => text.split(',').map((o) => o.trim()).filter(Boolean))
    .pipe(z.union([z.tuple([z.literal('*')]), z.array(z.string().refine(isOrigin, 'expected origins like https://example.com (scheme://host[:port])')).min(1)])),
  SEARCH_API_KEY: z.string().regex(TOKEN68, 'must be made of A-Z a-z 0-9 . _ ~ + / - (then optional =)').optional(),
})

function isOrigin(text: string): boolean {
  return URL.canParse(text) && /^https?:$/.test(new URL(text).protocol) && new URL(text).origin === text
}

export interface Settings {
  maxQueryChars: number
  shardTimeoutMs: number
  /** `'*'` or the exact origins allowed. */
  corsOrigins: '*' | string[]
  /** Undefined: search is public. */
  apiKey: string | undefined
  /** The index served: the R2 prefix its pointer and versions live under. */
  indexName: string
  /** Which pointer of the index names the version to serve. */
  pointerName: string
  /** How often, at most, the pointer is re-read. */
  pointerTtlMs: number
}

const parsed = new WeakMap<Env, Settings | ServiceError>()

export function settingsOf(env: Env): Settings {
  let settings = parsed.get(env)
  if (!settings) {
    settings = parseSettings(env)
    parsed.set(env, settings)
  }
  if (settings instanceof ServiceError) throw settings
  return settings
}

function parseSettings(env: Env): Settings | ServiceError {
  const blankToUndefined = (v: string | undefined) => (v === undefined || v.trim() === '' ? undefined : v)
  const result = SettingsSchema.safeParse({
    MAX_QUERY_CHARS: blankToUndefined(env.MAX_QUERY_CHARS),
    SHARD_TIMEOUT_MS: blankToUndefined(env.SHARD_TIMEOUT_MS),
    CORS_ORIGINS: blankToUndefined(env.CORS_ORIGINS),
    SEARCH_API_KEY: blankToUndefined(env.SEARCH_API_KEY),
    INDEX_NAME: blankToUndefined(env.INDEX_NAME),
    INDEX_POINTER: blankToUndefined(env.INDEX_POINTER),
    POINTER_TTL_SECONDS: blankToUndefined(env.POINTER_TTL_SECONDS),
  })
  if (!result.success) {
    // Never echo the value: it may be the secret.
    const names = result.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`).join('; ')
    console.error(`settings rejected: ${names}`)
    return ServiceError.of('misconfigured', 'the service is misconfigured; see its log')
  }
  const s = result.data
  return {
    maxQueryChars: s.MAX_QUERY_CHARS,
    shardTimeoutMs: s.SHARD_TIMEOUT_MS,
    corsOrigins: s.CORS_ORIGINS[0] === '*' ? '*' : s.CORS_ORIGINS,
    apiKey: s.SEARCH_API_KEY,
    indexName: s.INDEX_NAME,
    pointerName: s.INDEX_POINTER,
    pointerTtlMs: s.POINTER_TTL_SECONDS * 1000,
  }
}
