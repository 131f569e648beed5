// What `gdr bench` prints: one JSON line under stable keys (--json), or a
// Markdown table for the README's Performance section.

import { basename } from 'node:path'
import type { BenchReport, Measured } from './bench.ts'
import { latencySummary, mean, median, standardError, type LatencySummary } from './stats.ts'
import type { ServerTiming } from './timed-search.ts'
import { LOAD_STEPS } from '../../src/worker/server-timing.ts'
import { isolateTotalMiB, type IsolateMemory } from './isolate-memory.ts'

const round = (x: number | undefined, digits = 2) => (x === undefined || !Number.isFinite(x) ? null : Math.round(x * 10 ** digits) / 10 ** digits)

function latency(samples: Measured[]): LatencySummary {
  return latencySummary(samples.map((s) => s.ms))
}

/** Percentiles of the Worker's own total (Server-Timing), when every answer carried it. */
function serverLatency(samples: Measured[]): LatencySummary | undefined {
  return samples.every((s) => s.server) ? latencySummary(samples.map((s) => s.server!.total)) : undefined
}

/** Mean of each stage the Worker reported (means add up to the mean total; p50s would not). */
function breakdown(samples: Measured[]) {
  const withServer = samples.filter((s) => s.server).map((s) => s.server!)
  const stage = (name: Exclude<keyof ServerTiming, 'load'>) => (withServer.length ? mean(withServer.map((t) => t[name])) : undefined)
  return { index_ms: stage('index'), model_ms: stage('model'), route_ms: stage('route'), r2_ms: stage('r2'), score_ms: stage('score'), server_ms: stage('total') }
}

/** Mean of each index-load step (Server-Timing `load-<step>`) over the answers that carried it. */
function loadSteps(samples: Measured[]): Record<string, number | null> {
  const out: Record<string, number | null> = {}
  for (const step of LOAD_STEPS) {
    const values = samples.map((s) => s.server?.load?.[step]).filter((v): v is number => v !== undefined)
    if (values.length) out[step] = round(mean(values))
  }
  return out
}

function roundAll<T extends Record<string, number | undefined>>(values: T): Record<keyof T, number | null> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, round(v)])) as Record<keyof T, number | null>
}

const ROUTE = { worker: "to the Worker's own workerd socket", 'wrangler-proxy': "through wrangler dev's proxy" } as const

const QUERY_SOURCE = {
  file: 'from the file',
  'held-out': 'random 3–10-word spans of documents the build held out of training',
  pseudo: 'random 3–10-word spans of sampled documents, trained on',
} as const

function isolateSummary(m: IsolateMemory | undefined) {
  if (!m) return null
  const mb = (bytes: number | undefined) => round(bytes === undefined ? undefined : bytes / 1048576, 1)
  return { total_mb: round(isolateTotalMiB(m), 1), heap_used_mb: mb(m.heapUsedBytes), heap_total_mb: mb(m.heapTotalBytes), backing_store_mb: mb(m.backingStoreBytes), wasm_mb: mb(m.wasmMemoryBytes), shard_cache_mb: mb(m.shardCacheBytes), gc_first: m.collected }
}

/**
 * Everything the benchmark measured, under stable keys: what `--json` prints.
 * `*_ms` latencies are client-timed over HTTP unless named `server_*` (the
 * Worker's own Server-Timing total); stage times (`model_ms`, `route_ms`, `r2_ms`,
 * `score_ms`, `index_ms`) are the Worker's, as means so they add up.
 */
export function benchSummary(report: BenchReport) {
  const isolateEnd = report.memory.isolateEnd
  const warm = latency(report.warm)
  const warmServer = serverLatency(report.warm)
  const exact = latencySummary(report.exact.map((e) => e.modelMs + e.scoreMs))
  const inNode = latencySummary(report.gdrInNode.map((g) => g.modelMs + g.searchMs))
  const bytes = mean(report.bytesPerQuery)
  const build = report.build
  const { index_ms: _index, ...warmStages } = breakdown(report.warm)
  return {
    corpus: report.corpus,
    docs: report.docs,
    queries: report.queries,
    query_source: report.querySource,
    k: report.k,
    index: { dir: report.index.dir, version: report.index.version, shards: report.index.shards, shard_bytes: report.index.shardBytes, display_bytes: report.index.displayBytes, lexicon_bytes: report.index.lexiconBytes, probe_docs: report.index.probeDocs, reused: report.index.reused },
    warm: roundAll({ ...warm, server_p50_ms: warmServer?.p50_ms, server_p95_ms: warmServer?.p95_ms, server_p99_ms: warmServer?.p99_ms, ...warmStages }),
    warm_first_pass: roundAll({ ...latency(report.warmFirstPass), server_p50_ms: serverLatency(report.warmFirstPass)?.p50_ms, server_ms: breakdown(report.warmFirstPass).server_ms }),
    first_touch: roundAll({ ...latency(report.firstTouch), ...breakdown(report.firstTouch) }),
    cold: { p50_ms: round(median(report.cold.map((c) => c.ms))), runs_ms: report.cold.map((c) => round(c.ms)), ...roundAll(breakdown(report.cold)), load_ms: loadSteps(report.cold), cpu_p50_ms: round(median(report.cold.flatMap((c) => (c.cpuMs === undefined ? [] : [c.cpuMs])))) },
    // Where warm, first-touch and cold requests went: the Worker's own socket, or wrangler dev's proxy.
    route: report.route,
    healthz_p50_ms: round(median(report.healthzMs)),
    warm_via_proxy: report.warmViaProxy.length ? roundAll({ ...latency(report.warmViaProxy), healthz_p50_ms: median(report.healthzViaProxyMs) }) : null,
    bytes_per_query: Math.round(bytes),
    bytes_frac: round(bytes / (report.index.shardBytes + report.index.displayBytes + report.index.lexiconBytes), 4),
    shards_per_query: round(mean(report.shardsPerQuery)),
    working_set_bytes: report.workingSetBytes,
    exact: roundAll({ ...exact, model_ms: mean(report.exact.map((e) => e.modelMs)), score_ms: mean(report.exact.map((e) => e.scoreMs)) }),
    // Like for like: model + search in Node (exact) vs model + search in the Worker, each query's exact timed right
    // after the Worker's answer to it; the HTTP hop of wrangler dev is in exact_ratio_http.
    exact_ratio: warmServer ? round(exact.p50_ms / warmServer.p50_ms) : null,
    // The Worker's clock reads whole milliseconds, so its p50 moves in steps of 1 ms (a 2.4 ms search reads 2 or 3);
    // means of whole-ms durations are unbiased, so the ratio of means shows what the p50 ratio rounds.
    exact_ratio_mean: warmStages.server_ms ? round(exact.mean_ms / warmStages.server_ms) : null,
    exact_ratio_http: round(exact.p50_ms / warm.p50_ms),
    // Algorithm against algorithm: the Worker's search path run in Node, interleaved with exact in the same process
    // (a fine clock, no HTTP, no per-request costs of workerd); its answers are checked against the Worker's.
    gdr_in_node: roundAll({ ...inNode, model_ms: mean(report.gdrInNode.map((g) => g.modelMs)), search_ms: mean(report.gdrInNode.map((g) => g.searchMs)) }),
    exact_ratio_in_node: round(exact.p50_ms / inNode.p50_ms),
    exact_ratio_in_node_mean: round(exact.mean_ms / inNode.mean_ms),
    gdr_in_node_matches_worker: round(mean(report.gdrInNodeMatchesWorker.map(Number)), 4),
    exactRecall10: round(mean(report.exactRecall10), 4),
    // The queries are a sample: 200 of them put a mean near 0.95 within about ±0.007 (one standard error).
    exactRecall10_se: round(standardError(report.exactRecall10), 4),
    exactRecall_at_k: round(mean(report.exactRecallAtK), 4),
    build_s: build ? round(build.seconds, 1) : null,
    build_stages_s: build ? roundAll(build.stages) : null,
    docs_per_s: build ? round(report.docs / build.seconds, 0) : null,
    model_bytes: report.index.modelBytes,
    // The isolate's memory after the run: V8 heap used + ArrayBuffer backing stores + the kernels' WebAssembly memory
    // (isolate-memory.ts); the workerd process's RSS peak when the inspector could not be read.
    peak_mem_mb: round(isolateEnd ? isolateTotalMiB(isolateEnd) : report.memory.peakMiB, 1),
    peak_mem_measure: isolateEnd ? 'isolate' : 'workerd_rss',
    mem: {
      rss_start_mb: round(report.memory.rssStartMiB, 1),
      rss_end_mb: round(report.memory.rssEndMiB, 1),
      rss_peak_mb: round(report.memory.peakMiB, 1),
      proxy_peak_mb: round(report.memory.proxyPeakMiB, 1),
      isolate_fresh: isolateSummary(report.memory.isolateFresh),
      isolate_end: isolateSummary(isolateEnd),
    },
    notes: report.notes,
  }
}

export type BenchSummary = ReturnType<typeof benchSummary>

export function reportJson(report: BenchReport): string {
  return JSON.stringify(benchSummary(report))
}

const ms = (x: number | null) => (x === null ? '-' : x < 10 ? x.toFixed(1) : x.toFixed(0))
const mib = (bytes: number) => `${(bytes / 1048576).toFixed(bytes < 10 * 1048576 ? 2 : 1)} MiB`
const int = (x: number) => x.toLocaleString('en-US')

function isolateRow(fresh: ReturnType<typeof isolateSummary>, end: ReturnType<typeof isolateSummary>): string {
  if (!end) return 'not measured (no inspector)'
  const parts = (m: NonNullable<ReturnType<typeof isolateSummary>>) => `${m.total_mb} MiB = heap ${m.heap_used_mb} + backing stores ${m.backing_store_mb} + kernels' wasm ${m.wasm_mb ?? '?'} (shard cache ${m.shard_cache_mb ?? '?'} MiB)${m.gc_first ? '' : ', after two GCs sent through the proxy (which does not confirm them)'}`
  return `${fresh ? `after the first query ${parts(fresh)}; ` : ''}after the run ${parts(end)}`
}

/** A Markdown table, ready for the README's Performance section. */
export function reportTable(report: BenchReport): string {
  const s = benchSummary(report)
  const w = s.warm
  const c = s.cold
  const f = s.first_touch
  const rows: [string, string][] = [
    ['corpus', `${basename(s.corpus)}: ${int(s.docs)} docs, ${int(s.index.shards)} shards (${mib(s.index.shard_bytes)}) + display objects (${mib(s.index.display_bytes)}) + lexicon (${mib(s.index.lexicon_bytes)}), model ${mib(s.model_bytes)}, probe budget ${int(s.index.probe_docs)} docs`],
    ['queries', `${s.queries} (${QUERY_SOURCE[s.query_source]}), k=${s.k}, one at a time`],
    [`warm latency p50 / p95 / p99 (HTTP ${ROUTE[s.route]}, shards in the isolate)`, `${ms(w.p50_ms)} / ${ms(w.p95_ms)} / ${ms(w.p99_ms)} ms (GET /healthz alone: ${ms(s.healthz_p50_ms)} ms p50)`],
    ...(s.warm_via_proxy ? [['warm through wrangler dev\'s proxy (what `gdr serve` adds) p50 / p95 / p99', `${ms(s.warm_via_proxy.p50_ms)} / ${ms(s.warm_via_proxy.p95_ms)} / ${ms(s.warm_via_proxy.p99_ms)} ms (GET /healthz alone: ${ms(s.warm_via_proxy.healthz_p50_ms)} ms p50)`] as [string, string]] : []),
    ['warm, in the Worker: p50 / p95; mean model / routing / R2 / scoring', `${ms(w.server_p50_ms)} / ${ms(w.server_p95_ms)} ms; ${ms(w.model_ms)} / ${ms(w.route_ms)} / ${ms(w.r2_ms)} / ${ms(w.score_ms)} ms`],
    ['warm in the first pass, before V8 has optimized the Worker: p50 / p95 HTTP; in the Worker p50 / mean', `${ms(s.warm_first_pass.p50_ms)} / ${ms(s.warm_first_pass.p95_ms)} ms; ${ms(s.warm_first_pass.server_p50_ms)} / ${ms(s.warm_first_pass.server_ms)} ms`],
    ['first touch p50 / p95 (warm isolate, shards not yet read)', `${ms(f.p50_ms)} / ${ms(f.p95_ms)} ms; R2 ${ms(f.r2_ms)} ms mean`],
    [`cold latency, median of ${s.cold.runs_ms.length} fresh \`wrangler dev\``, `${ms(c.p50_ms)} ms (runs ${c.runs_ms.map(ms).join(', ')}); workerd CPU ${ms(c.cpu_p50_ms)} ms median; in the Worker (mean): index load ${ms(c.index_ms)}, model ${ms(c.model_ms)}, routing ${ms(c.route_ms)}, R2 ${ms(c.r2_ms)}, scoring ${ms(c.score_ms)} ms`],
    ['cold index load by step (mean; overlapping steps each count whole)', Object.keys(c.load_ms).length ? Object.entries(c.load_ms).map(([k, v]) => `${k} ${ms(v)}`).join(', ') + ' ms' : 'not reported by this Worker'],
    ['read from R2 per query', `${mib(s.bytes_per_query)} = ${((s.bytes_frac ?? 0) * 100).toFixed(1)}% of the index (${s.shards_per_query} shards + the display objects of the results' leaves + the query terms' lexicon parts)`],
    ['exact in Node (model + brute force) p50 / p95', `${ms(s.exact.p50_ms)} / ${ms(s.exact.p95_ms)} ms (scoring alone ${ms(s.exact.score_ms)} ms mean); exact_ratio ${s.exact_ratio} (vs the Worker's p50, whole ms), ${s.exact_ratio_mean} (means), ${s.exact_ratio_http} (vs HTTP p50)`],
    ['gdr in Node (the Worker\'s path, interleaved with exact in one process) p50 / p95', `${ms(s.gdr_in_node.p50_ms)} / ${ms(s.gdr_in_node.p95_ms)} ms (model ${ms(s.gdr_in_node.model_ms)}, routing + scoring ${ms(s.gdr_in_node.search_ms)} ms mean); exact_ratio_in_node ${s.exact_ratio_in_node} (p50s), ${s.exact_ratio_in_node_mean} (means); same top ${s.k} as the Worker on ${((s.gdr_in_node_matches_worker ?? 0) * 100).toFixed(1)}% of the queries`],
    ['exactRecall10 (Worker top 10 vs exact top 10) ± one standard error over the queries', `${s.exactRecall10} ± ${s.exactRecall10_se}`],
    ...(s.k > 10 ? [[`exactRecall@${s.k} (Worker top ${s.k} vs exact top ${s.k})`, `${s.exactRecall_at_k}`] as [string, string]] : []),
    ['build', s.build_s === null ? 'not measured (index built outside gdr bench)' : `${int(s.build_s)} s, ${int(s.docs_per_s ?? 0)} docs/s: ${Object.entries(s.build_stages_s ?? {}).map(([k, v]) => `${k} ${v}`).join(', ')}`],
    ['Worker isolate memory (peak_mem_mb: V8 heap used + ArrayBuffer backing stores + the kernels\' WebAssembly memory, after the run)', isolateRow(s.mem.isolate_fresh, s.mem.isolate_end)],
    ['workerd process memory (RSS: the whole runtime, incl. the local R2 simulator)', `${s.mem.rss_start_mb} MiB fresh → ${s.mem.rss_end_mb} MiB after the run; peak ${s.mem.rss_peak_mb} MiB`],
  ]
  const out = ['| what | measured |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v} |`)]
  for (const note of s.notes) out.push(`note: ${note}`)
  out.push(`time: ${Object.entries(report.seconds).map(([k, v]) => `${k} ${v.toFixed(1)}s`).join(', ')}`)
  return out.join('\n')
}
