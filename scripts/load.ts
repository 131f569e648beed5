// `gdr load`: a bounded burst of concurrent searches against a local Worker
// (`gdr serve`), loopback only. Reports status counts, the latency
// distribution, and the serving workerd process's memory after each round.

import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { Command, Option } from 'commander'
import { integer } from './cli-options.ts'

export type LoadTarget = 'search' | 'healthz'

export interface LoadOptions {
  url: string
  /** `search`: the request mix below; `healthz`: the cheapest route, as a control for memory the dev server itself takes. */
  target: LoadTarget
  /** Requests per round, all started at once up to `concurrency`. */
  requests: number
  concurrency: number
  /** Rounds of `requests`; memory is read after each, so growth shows. */
  rounds: number
  /** Hard bound on the whole run; requests still open then are aborted (and counted as errors). */
  maxSeconds: number
  /** The process to measure; found from the listening port when omitted (then its workerd siblings too). */
  pid?: number
}

export interface RoundReport {
  statuses: Record<string, number>
  latencyMs: { p50: number; p95: number; p99: number; max: number }
  degraded: number
  seconds: number
  /** Resident memory of each measured process after the round. */
  rssKiB: Record<number, number | undefined>
}

export const LIMITS = { requests: 5000, concurrency: 500, rounds: 20, maxSeconds: 600 }

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]'])

const QUERIES = [
  'validate a json schema',
  'run an onnx model in the browser with webassembly',
  'how do I parse command line options',
  'progress bar in the terminal',
  'msgpack binary encoding of records',
  'typescript compiler options strict mode',
  'deploy a cloudflare worker with r2 storage',
  'property based testing arbitraries',
  'cors middleware allowed origins',
  'bearer token authentication',
  'Überschall — ÉTÉ 🙂',
  'שלום עולם',
]

/** One request of the mix: mostly good searches by GET and POST, and every tenth a malformed one (a 400 is expected). */
function requestFor(base: string, target: LoadTarget, i: number, signal: AbortSignal): Promise<Response> {
  if (target === 'healthz') return fetch(`${base}/healthz`, { signal })
  const q = QUERIES[i % QUERIES.length]
  if (i % 10 === 9) return fetch(`${base}/search?q=%20&k=0`, { signal })
  if (i % 2 === 0) return fetch(`${base}/search?q=${encodeURIComponent(q)}&k=${1 + (i % 20)}`, { signal })
  return fetch(`${base}/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ q, k: 10 }), signal })
}

export async function runLoad(options: LoadOptions, log: (line: string) => void = console.log): Promise<RoundReport[]> {
  const base = loopbackBase(options.url)
  const deadline = AbortSignal.timeout(options.maxSeconds * 1000)
  const warm = await fetch(`${base}/search?q=warm+up`, { signal: deadline }).catch((error: Error) => {
    throw new Error(`cannot reach ${base} (${error.message}): is a Worker serving there? Start one with gdr serve, or give --url`)
  })
  if (warm.status !== 200) throw new Error(`warm-up search answered ${warm.status}: ${(await warm.text()).slice(0, 200)}`)
  const processes = options.pid ? [options.pid] : servingProcesses(Number(new URL(base).port || 80))
  const memory = () => Object.fromEntries(processes.map((pid) => [pid, readStatus(pid, 'VmRSS')]))
  const show = (rss: Record<number, number | undefined>) => processes.map((pid) => `${pid}: ${mib(rss[pid])}`).join(', ')
  const before = memory()
  log(`load: ${options.rounds} × ${options.requests} ${options.target} requests, ${options.concurrency} at a time, against ${base}`)
  log(processes.length ? `RSS before (workerd pid: MiB): ${show(before)}` : 'serving processes not found: no memory figures')
  const reports: RoundReport[] = []
  for (let round = 1; round <= options.rounds; round++) {
    const report = await runRound(base, options, deadline)
    report.rssKiB = memory()
    reports.push(report)
    const l = report.latencyMs
    log(
      `round ${round}: ${Object.entries(report.statuses).map(([s, n]) => `${s}×${n}`).join(' ')}; ` +
        `latency ms p50 ${l.p50} p95 ${l.p95} p99 ${l.p99} max ${l.max}; ${(options.requests / report.seconds).toFixed(0)} req/s; ` +
        `degraded ${report.degraded}` + (processes.length ? `; RSS ${show(report.rssKiB)}` : ''),
    )
  }
  // Round 1 pays one-time costs (JIT, buffers sized for the burst); growth after it is what would accumulate.
  const first = reports[0].rssKiB
  const last = reports[reports.length - 1].rssKiB
  const later = (options.rounds - 1) * options.requests
  for (const pid of processes) {
    if (before[pid] === undefined || last[pid] === undefined) continue
    const steady = later > 0 ? `, then ${((last[pid]! - first[pid]!) / later).toFixed(1)} KiB per request after round 1` : ''
    log(`workerd ${pid}: ${mib(before[pid])} → ${mib(first[pid])} after round 1 → ${mib(last[pid])}${steady}; peak ${mib(readStatus(pid, 'VmHWM'))}`)
  }
  return reports
}

async function runRound(base: string, options: LoadOptions, deadline: AbortSignal): Promise<RoundReport> {
  const latencies: number[] = []
  const statuses: Record<string, number> = {}
  let degraded = 0
  let next = 0
  const started = performance.now()
  const worker = async () => {
    while (next < options.requests) {
      const i = next++
      const t0 = performance.now()
      let status: string
      try {
        const response = await requestFor(base, options.target, i, deadline)
        const body = await response.text()
        status = String(response.status)
        if (response.status === 200 && (JSON.parse(body) as { degraded?: boolean }).degraded) degraded++
      } catch (error) {
        status = (error as Error).name === 'TimeoutError' ? 'aborted' : 'network-error'
      }
      latencies.push(performance.now() - t0)
      statuses[status] = (statuses[status] ?? 0) + 1
    }
  }
  await Promise.all(Array.from({ length: Math.min(options.concurrency, options.requests) }, worker))
  latencies.sort((a, b) => a - b)
  const at = (p: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)])
  return { statuses, latencyMs: { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: at(1) }, degraded, seconds: (performance.now() - started) / 1000, rssKiB: {} }
}

function loopbackBase(url: string): string {
  const parsed = new URL(url)
  if (!LOOPBACK.has(parsed.hostname)) throw new Error(`load tests run against loopback only (127.0.0.1, localhost, ::1), not ${parsed.hostname}`)
  return parsed.origin
}

/**
 * `wrangler dev` runs two workerd processes: one listens on the port (wrangler's
 * proxy), its sibling runs the Worker. Both, listener first; none off Linux.
 */
export function servingProcesses(port: number): number[] {
  const listener = listeningPid(port)
  if (listener === undefined) return []
  const parent = readStatus(listener, 'PPid')
  const siblings = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d) && Number(d) !== listener)
    .map(Number)
    .filter((pid) => readStatus(pid, 'PPid') === parent && commandOf(pid).includes('workerd'))
  return [listener, ...siblings]
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8')
  } catch {
    return ''
  }
}

/** Listening TCP sockets of this machine: inode → port (Linux /proc; empty elsewhere). */
function listeningSockets(): Map<string, number> {
  const sockets = new Map<string, number>()
  try {
    for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
      for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
        const f = line.trim().split(/\s+/)
        if (f[3] === '0A' && f[1]) sockets.set(f[9], parseInt(f[1].slice(f[1].lastIndexOf(':') + 1), 16))
      }
    }
  } catch {
    // not Linux
  }
  return sockets
}

/** The socket inodes a process holds open (empty when it is gone or not ours to see). */
function socketInodes(pid: number | string): string[] {
  let fds: string[]
  try {
    fds = readdirSync(`/proc/${pid}/fd`)
  } catch {
    return []
  }
  return fds.flatMap((fd) => {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))
      return match ? [match[1]] : []
    } catch {
      return [] // fd closed meanwhile
    }
  })
}

/** The pid whose socket listens on `port` (Linux /proc); undefined elsewhere or when not ours to see. */
function listeningPid(port: number): number | undefined {
  const inodes = new Set([...listeningSockets()].filter(([, p]) => p === port).map(([inode]) => inode))
  if (inodes.size === 0) return undefined
  let pids: string[]
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d))
  } catch {
    return undefined
  }
  const pid = pids.find((candidate) => socketInodes(candidate).some((inode) => inodes.has(inode)))
  return pid === undefined ? undefined : Number(pid)
}

/** The ports a process listens on (Linux /proc; empty elsewhere). */
export function listeningPorts(pid: number): number[] {
  const sockets = listeningSockets()
  return [...new Set(socketInodes(pid).flatMap((inode) => (sockets.has(inode) ? [sockets.get(inode)!] : [])))]
}

/** A numeric field of /proc/<pid>/status (memory in KiB). */
export function readStatus(pid: number, field: 'VmRSS' | 'VmHWM' | 'PPid'): number | undefined {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match ? Number(match[1]) : undefined
  } catch {
    return undefined
  }
}

const mib = (kib: number | undefined) => (kib === undefined ? '?' : `${(kib / 1024).toFixed(1)} MiB`)

export function registerLoadCommand(cli: Command): void {
  cli
    .command('load')
    .description('fire a bounded burst of concurrent searches at a local Worker (gdr serve) and report latency, statuses and memory')
    .option('--url <url>', 'Worker URL (loopback only)', 'http://127.0.0.1:8787')
    .addOption(new Option('--target <route>', 'search: a mix of GET/POST searches (1 in 10 malformed); healthz: a control for the dev server\'s own memory').choices(['search', 'healthz']).default('search'))
    .option('--requests <n>', `requests per round (≤ ${LIMITS.requests})`, integer(1, LIMITS.requests), 200)
    .option('--concurrency <n>', `requests in flight at once (≤ ${LIMITS.concurrency})`, integer(1, LIMITS.concurrency), 200)
    .option('--rounds <n>', `rounds, with memory read after each (≤ ${LIMITS.rounds})`, integer(1, LIMITS.rounds), 3)
    .option('--max-seconds <n>', `abort the run after this long (≤ ${LIMITS.maxSeconds})`, integer(1, LIMITS.maxSeconds), 120)
    .option('--pid <pid>', 'process to measure (default: the one listening on the port)', integer(1, 1 << 22))
    .action(async (opts) => {
      const reports = await runLoad(opts as LoadOptions)
      const failures = reports.flatMap((r) => Object.entries(r.statuses)).filter(([s]) => !/^[234]\d\d$/.test(s))
      if (failures.length > 0) throw new Error(`failed requests: ${failures.map(([s, n]) => `${s}×${n}`).join(', ')}`)
    })
}
