// What a search request may say, checked strictly: `q` and `k` only, each once,
// well-formed. Anything else is a 400 `bad_request` that names the problem.

import { z } from 'zod'
import { ServiceError } from './errors.ts'
import { firstRepeatedKey, topLevelKeys } from './json-keys.ts'
import { BUDGET_K } from '../core/search.ts'
import { codePointLength } from '../core/query-text.ts'

export const MAX_K = 100
/** The k an index's probe budget is set for; a larger k reads more (searchForK). */
export const DEFAULT_K = BUDGET_K
/** Request bodies past this are refused (413) before being read. */
export const MAX_BODY_BYTES = 64 * 1024

export interface SearchParams {
  /** Trimmed, non-empty, at most `maxQueryChars` code points. */
  q: string
  k: number
}

const K_MESSAGE = `k must be an integer from 1 to ${MAX_K}`

function queryText(maxQueryChars: number) {
  return z
    .string({ error: (issue) => (issue.input === undefined ? 'q is required' : 'q must be a string') })
    .trim()
    .min(1, 'q must not be empty')
    .refine((q) => codePointLength(q) <= maxQueryChars, `q must be at most ${maxQueryChars} characters`)
}

// Built per limit, which is a setting; there are one or two in practice.
const schemas = new Map<number, { get: z.ZodType<SearchParams>; post: z.ZodType<SearchParams> }>()

function schemasFor(maxQueryChars: number) {
  let s = schemas.get(maxQueryChars)
  if (!s) {
    s = {
      // From a query string every value is text; k must be plain digits ("1e1", "+5", "2.0" are refused).
      get: z.strictObject({
        q: queryText(maxQueryChars),
        k: z.string().regex(/^\d{1,9}$/, K_MESSAGE).transform(Number).pipe(z.number().int().min(1, K_MESSAGE).max(MAX_K, K_MESSAGE)).default(DEFAULT_K),
      }),
      // In JSON, k must be a number, not a string that looks like one.
      post: z.strictObject({
        q: queryText(maxQueryChars),
        k: z.number(K_MESSAGE).int(K_MESSAGE).min(1, K_MESSAGE).max(MAX_K, K_MESSAGE).default(DEFAULT_K),
      }),
    }
    schemas.set(maxQueryChars, s)
  }
  return s
}

export function parseGetParams(url: string, maxQueryChars: number): SearchParams {
  return check(schemasFor(maxQueryChars).get, parseQueryString(new URL(url).search))
}

// fatal: invalid UTF-8 is refused rather than searched for as U+FFFD. A leading BOM is
// still dropped, as Request.text() drops it.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })

/** A POST body's bytes as text; like a query string's escapes, they must be valid UTF-8. */
export function decodeBody(bytes: ArrayBuffer): string {
  try {
    return strictUtf8.decode(bytes)
  } catch {
    throw badRequest('the body is not valid UTF-8')
  }
}

/** A POST body's text: a JSON object saying q and k, each at most once. */
export function parsePostBody(text: string, maxQueryChars: number): SearchParams {
  const body = parseJson(text)
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('body must be a JSON object: {"q": string, "k"?: integer}')
  // JSON.parse keeps the last of repeated keys; a query string's repeats are refused, so these are too.
  const repeated = firstRepeatedKey(topLevelKeys(text))
  if (repeated !== undefined) throw givenTwice(repeated)
  return check(schemasFor(maxQueryChars).post, body)
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    throw badRequest('body must be JSON: {"q": string, "k"?: integer}')
  }
}

/**
 * Decodes `?a=b&c=d` strictly. hono's own decoding keeps invalid escapes
 * (`%ED%A0%80`, a lone surrogate, or `%zz`) as literal text; we refuse them,
 * so a query is never silently searched for as something the client did not send.
 */
export function parseQueryString(search: string): Record<string, string> {
  const params = new Map<string, string>()
  for (const part of search.replace(/^\?/, '').split('&')) {
    if (part === '') continue
    const eq = part.indexOf('=')
    const name = decodeComponent(eq < 0 ? part : part.slice(0, eq))
    const value = decodeComponent(eq < 0 ? '' : part.slice(eq + 1))
    if (params.has(name)) throw givenTwice(name)
    params.set(name, value)
  }
  // fromEntries defines own properties, so a "__proto__" parameter is just an unknown key.
  return Object.fromEntries(params)
}

function decodeComponent(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '))
  } catch {
    throw badRequest('the query string is not valid percent-encoded UTF-8')
  }
}

function check(schema: z.ZodType<SearchParams>, input: unknown): SearchParams {
  const result = schema.safeParse(input)
  if (result.success) return result.data
  const issue = result.error.issues[0]
  if (issue.code === 'unrecognized_keys') throw badRequest(`unknown parameter ${issue.keys.slice(0, 3).map(quoteName).join(', ')}; only q and k are accepted`)
  // Our messages name their field; zod's own ones get it prefixed.
  const field = issue.path.join('.') || 'request'
  throw badRequest(issue.message.startsWith(`${field} `) ? issue.message : `${field}: ${issue.message}`)
}

/** A parameter said twice, in a query string or a POST body: refused alike. */
function givenTwice(name: string) {
  return badRequest(`${quoteName(name)}: given more than once`)
}

/** A client-chosen name in an error message: quoted, and cut short. */
function quoteName(name: string): string {
  return JSON.stringify(name.length > 40 ? name.slice(0, 40) + '…' : name)
}

function badRequest(message: string): ServiceError {
  return ServiceError.of('bad_request', message)
}
