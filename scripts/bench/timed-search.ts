// One search against the Worker, timed from the client, with the Worker's own
// breakdown from its Server-Timing header (src/worker/server-timing.ts).

import http from 'node:http'
import { LOAD_STEPS, type LoadTimings } from '../../src/worker/server-timing.ts'

export interface HttpAnswer {
  status: number
  headers: http.IncomingHttpHeaders
  text: string
}

// One kept-alive connection per server, opened on first use. node:http rather than
// fetch: against one Worker, interleaved, GET /healthz took 1.8–2.3 ms by fetch
// (undici) and 1.05–1.27 ms by node:http; fetch's own 0.7–1.0 ms was most of the floor.
const agents = new Map<string, http.Agent>()

/** GET `url` and read the whole body, one request at a time per server. */
export function httpGet(url: string): Promise<HttpAnswer> {
  const { origin } = new URL(url)
  let agent = agents.get(origin)
  if (!agent) agents.set(origin, (agent = new http.Agent({ keepAlive: true, maxSockets: 1 })))
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (response) => {
        const chunks: Buffer[] = []
        response.on('data', (chunk: Buffer) => chunks.push(chunk))
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, text: Buffer.concat(chunks).toString('utf8') }))
        response.on('error', reject)
      })
      .on('error', reject)
  })
}

/** Closes every kept-alive connection (before a server restarts on the same port). */
export function closeConnections(): void {
  for (const agent of agents.values()) agent.destroy()
  agents.clear()
}

export interface ServerTiming {
  index: number
  model: number
  route: number
  r2: number
  score: number
  total: number
  /** The `load-<step>` entries: only on answers that waited for the isolate's first index load. */
  load?: LoadTimings
}

/** `name;dur=1.5, other;dur=2` → {name: 1.5, other: 2}; entries without a duration are left out. */
export function parseServerTiming(header: string | null): Record<string, number> {
  const out: Record<string, number> = {}
  for (const entry of (header ?? '').split(',')) {
    const [name, ...params] = entry.trim().split(';').map((p) => p.trim())
    const dur = params.find((p) => p.toLowerCase().startsWith('dur='))
    if (name && dur !== undefined && Number.isFinite(Number(dur.slice(4)))) out[name] = Number(dur.slice(4))
  }
  return out
}

export function serverTimingOf(header: string | null): ServerTiming | undefined {
  const t = parseServerTiming(header)
  const names = ['index', 'model', 'route', 'r2', 'score', 'total'] as const
  if (!names.every((n) => n in t)) return undefined
  const load: LoadTimings = {}
  for (const step of LOAD_STEPS) if (`load-${step}` in t) load[step] = t[`load-${step}`]
  return { index: t.index, model: t.model, route: t.route, r2: t.r2, score: t.score, total: t.total, ...(Object.keys(load).length ? { load } : {}) }
}

export interface TimedAnswer {
  /** Request sent → body read, on the client. */
  ms: number
  /** The Worker's breakdown; undefined when the Worker sends no Server-Timing (an older build). */
  server?: ServerTiming
  ids: string[]
  /** `clusters[].cid` of the answer: the leaves the Worker read. */
  clusters: number[][]
  index: string
  tookMs: number
}

export async function timedSearch(baseUrl: string, q: string, k: number): Promise<TimedAnswer> {
  const url = `${baseUrl}/search?q=${encodeURIComponent(q)}&k=${k}`
  const started = performance.now()
  const response = await httpGet(url)
  const { text } = response
  const ms = performance.now() - started
  if (response.status !== 200) throw new Error(`GET /search?q=${JSON.stringify(q.slice(0, 60))} answered HTTP ${response.status}: ${text.slice(0, 300)}`)
  const body = JSON.parse(text) as { results: { id: string }[]; clusters: { cid: number[] }[]; index: string; took_ms: number; degraded: boolean }
  if (body.degraded) throw new Error(`a degraded answer (some shards unreadable) for ${JSON.stringify(q.slice(0, 60))}: the benchmark needs every shard`)
  const serverTiming = response.headers['server-timing']
  return { ms, server: serverTimingOf(typeof serverTiming === 'string' ? serverTiming : null), ids: body.results.map((r) => r.id), clusters: body.clusters.map((c) => c.cid), index: body.index, tookMs: body.took_ms }
}
