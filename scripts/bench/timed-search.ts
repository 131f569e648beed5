// One search against the Worker, timed from the client, with the Worker's own
// breakdown from its Server-Timing header (src/worker/server-timing.ts).

import { LOAD_STEPS, type LoadTimings } from '../../src/worker/server-timing.ts'

export interface ServerTiming {
  index: number
  model: number
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
  const names = ['index', 'model', 'r2', 'score', 'total'] as const
  if (!names.every((n) => n in t)) return undefined
  const load: LoadTimings = {}
  for (const step of LOAD_STEPS) if (`load-${step}` in t) load[step] = t[`load-${step}`]
  return { index: t.index, model: t.model, r2: t.r2, score: t.score, total: t.total, ...(Object.keys(load).length ? { load } : {}) }
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
  const response = await fetch(url)
  const text = await response.text()
  const ms = performance.now() - started
  if (!response.ok) throw new Error(`GET /search?q=${JSON.stringify(q.slice(0, 60))} answered HTTP ${response.status}: ${text.slice(0, 300)}`)
  const body = JSON.parse(text) as { results: { id: string }[]; clusters: { cid: number[] }[]; index: string; took_ms: number; degraded: boolean }
  if (body.degraded) throw new Error(`a degraded answer (some shards unreadable) for ${JSON.stringify(q.slice(0, 60))}: the benchmark needs every shard`)
  return { ms, server: serverTimingOf(response.headers.get('server-timing')), ids: body.results.map((r) => r.id), clusters: body.clusters.map((c) => c.cid), index: body.index, tookMs: body.took_ms }
}
