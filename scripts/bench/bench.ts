// `gdr bench`: builds (or reuses) an index of a corpus, serves it with
// `wrangler dev` on local R2 and measures, over HTTP to the Worker, cold and
// warm latency with the Worker's own breakdown, bytes read per query and the
// Worker process's memory; answers the same queries by brute force in Node
// (`exact`) for the latency ratio and exact-recall@10, each right after the
// Worker's warm answer, so drifts in the machine's load reach both alike.

import { existsSync, readFileSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { PROJECT_ROOT, withLocalBucket } from '../local-r2.ts'
import { stageClock, type Reporter } from '../progress.ts'
import { publishFolder } from '../publish.ts'
import { startDevServer, type DevServer } from '../serve.ts'
import { stopServer as stopDevServer } from '../eval/eval.ts'
import { overlapAt } from '../eval/metrics.ts'
import { bytesRead, displaysFor, openIndexFolder, retrieve, runQueryModel, SYSTEMS, type IndexFolder, type SystemSpec } from '../eval/systems.ts'
import { resolveIndex, type BuildSettings, type ResolvedIndex } from './built-index.ts'
import { documentLines, DEFAULT_BENCH_QUERIES, querySeedFor, readQueryFile, samplePseudoQueries, type BenchQuery } from './queries.ts'
import { closeConnections, httpGet, timedSearch, type ServerTiming, type TimedAnswer } from './timed-search.ts'
import { isolateMemory, type IsolateMemory } from './isolate-memory.ts'
import { SHARD_CACHE_BUDGET_BYTES } from '../../src/worker/shard-cache.ts'
import { lexiconPartsOf, queryTerms } from '../../src/core/search.ts'
import { cidKey } from '../../src/core/tree.ts'
import { cpuMs, peakRssMiB, rssMiB, workerProcesses, type WorkerProcesses } from './worker-memory.ts'
import { workerSocketUrl } from './worker-socket.ts'
import { DEFAULT_BUILD, HELD_OUT_FILE } from '../build/build-index.ts'


export interface BenchOptions {
  corpus: string
  /** A file of queries, one per line; without it, pseudo-queries from the corpus. */
  queries?: string
  /** How many pseudo-queries to draw, or the first n lines of the file. */
  queryCount: number
  /** An index already built from this corpus: no build. */
  index?: string
  /** Where to build (default shards/bench-<corpus>). */
  out?: string
  rebuild: boolean
  port: number
  /** Fresh `wrangler dev` processes whose first query is timed. */
  coldRuns: number
  k: number
  build: BuildSettings
}

export const DEFAULT_BENCH: Omit<BenchOptions, 'corpus'> = {
  queryCount: DEFAULT_BENCH_QUERIES.count,
  rebuild: false,
  port: 8840,
  coldRuns: 3,
  k: 10,
  build: {},
}

export interface BenchReport {
  corpus: string
  docs: number
  queries: number
  /** `held-out`: spans of documents the build never trained on; `pseudo`: spans of any document (older builds). */
  querySource: 'file' | 'held-out' | 'pseudo'
  k: number
  index: { dir: string; name: string; version: string; shards: number; shardBytes: number; displayBytes: number; lexiconBytes: number; modelBytes: number; reused: boolean; probeDocs: number }
  /**
   * Per query, shards already in the isolate (each query asked right after the same
   * query loaded them), after JIT_WARM_UP_PASSES untimed passes over the queries.
   */
  warm: Measured[]
  /** The same, in the first pass over the queries, right after each one's first touch: before V8 has optimized the Worker's code. */
  warmFirstPass: Measured[]
  /** Per query, its first ask in a warm isolate: shards from R2 unless an earlier query left them in the cache. */
  firstTouch: Measured[]
  /** The first query of a fresh `wrangler dev`, one per run. */
  cold: Measured[]
  /**
   * Where the timed requests went: the Worker's own workerd socket (`worker`), or
   * wrangler dev's port (`wrangler-proxy`) when that socket could not be found.
   */
  route: 'worker' | 'wrangler-proxy'
  /** Client-timed GET /healthz on the warm server, by the same route: what HTTP costs by itself. */
  healthzMs: number[]
  /** The warm queries again through wrangler dev's proxy (what `gdr serve` users see); empty when route is already the proxy. */
  warmViaProxy: Measured[]
  healthzViaProxyMs: number[]
  /** Brute force in Node, each query timed right after the Worker's warm answer to it. */
  exact: { modelMs: number; scoreMs: number }[]
  /**
   * The Worker's search path (the same src/core functions) run in Node on the same
   * queries, interleaved with exact: brute force and GDR timed alike, in one
   * process, without the Worker's HTTP and per-request costs.
   */
  gdrInNode: { modelMs: number; searchMs: number }[]
  /** Per query: did gdr in Node return exactly the Worker's warm top k (ids, in order)? */
  gdrInNodeMatchesWorker: boolean[]
  exactRecall10: number[]
  /** Per query: overlap of the Worker's top k with exact's (the same as exactRecall10 at k = 10). */
  exactRecallAtK: number[]
  bytesPerQuery: number[]
  shardsPerQuery: number[]
  /** Distinct shard bytes the whole query set touches (vs the Worker's shard cache). */
  workingSetBytes: number
  build?: { seconds: number; stages: Record<string, number> }
  memory: {
    rssStartMiB?: number
    rssEndMiB?: number
    peakMiB?: number
    proxyPeakMiB?: number
    /** The isolate itself (inspector + /v1/index) right after the last cold query, and after the warm run. */
    isolateFresh?: IsolateMemory
    isolateEnd?: IsolateMemory
  }
  notes: string[]
  seconds: Record<string, number>
}

export interface Measured {
  ms: number
  server?: ServerTiming
  /** CPU time the workerd processes used while answering (cold runs only). */
  cpuMs?: number
}

export async function runBench(options: BenchOptions, reporter: Reporter): Promise<BenchReport> {
  const { seconds, timed } = stageClock()
  const notes: string[] = []
  const name = `bench-${corpusName(options.corpus)}`.replace(/[^A-Za-z0-9._-]/g, '-')

  // 1. The index.
  const resolved: ResolvedIndex = await timed('index', () =>
    resolveIndex({ corpus: options.corpus, dir: options.index ?? options.out ?? join(PROJECT_ROOT, 'shards', name), name, settings: options.build, given: options.index !== undefined, rebuild: options.rebuild }, reporter),
  )
  if (!resolved.build) notes.push(`no build record for ${resolved.dir} (built outside gdr bench): build time not measured`)
  const index = await timed('load', () => openIndexFolder(resolved.dir))
  const { manifest } = index
  reporter.log(`index ${manifest.name}@${manifest.version}: ${manifest.docs} docs, ${manifest.shards.length} shards; Node holds it in ${(process.memoryUsage().rss / 1048576).toFixed(0)} MiB RSS`)

  // 2. The queries.
  let querySource: BenchReport['querySource'] = 'file'
  const queries: BenchQuery[] = await timed('queries', async () => {
    if (options.queries) return readQueryFile(options.queries).slice(0, options.queryCount)
    const seed = querySeedFor(options.build.seed ?? DEFAULT_BUILD.seed)
    const heldOutPath = join(resolved.dir, HELD_OUT_FILE)
    const from = existsSync(heldOutPath) ? new Set<string>(JSON.parse(readFileSync(heldOutPath, 'utf8'))) : undefined
    if (!from) notes.push(`${resolved.dir} has no ${HELD_OUT_FILE} (an older build): queries are spans of documents the model was trained on, so exact-recall is optimistic`)
    querySource = from ? 'held-out' : 'pseudo'
    const sampled = await samplePseudoQueries(documentLines(options.corpus), { ...DEFAULT_BENCH_QUERIES, count: options.queryCount, seed, from })
    if (sampled.docs !== manifest.docs) throw new Error(`${resolved.dir} holds ${manifest.docs} documents but ${options.corpus} has ${sampled.docs}: not an index of this corpus (${options.index ? 'check --index' : 'use --rebuild or another --out'})`)
    return sampled.queries
  })
  if (queries.length === 0) throw new Error('no queries')
  const texts = queries.map((q) => q.text)

  // 3. exact: brute force over every document in Node, with the same model and scoring code as the Worker,
  // and gdr in Node (the Worker's plan and scoring): their JIT warm-up here, their timed answers in the
  // Worker's warm pass, each query right after the Worker's, so the ratios compare times taken side by side.
  await timed('node warm-up', () => warmUpInNode(index, texts, options.k, reporter))

  // 4. The Worker.
  await timed('publish', () => withLocalBucket((bucket) => publishFolder(index.dir, bucket, reporter)))
  const inNode: { exact: NodeAnswer; gdr: NodeAnswer }[] = []
  const worker = await timed('worker', () => measureWorker(index, texts, options, reporter, async (i, text) => void inNode.push(await answerPairInNode(index, text, i, options.k))))

  const probed = worker.warm.map((a) =>
    a.clusters.map((cid) => {
      const entry = index.byCid.get(cidKey(cid))
      if (!entry) throw new Error(`the Worker read cluster ${cidKey(cid)}, which ${index.dir} does not have`)
      return entry
    }),
  )
  const terms = texts.map((text) => queryTerms(text, manifest.lexical))
  const partsRead = terms.flatMap((t) => lexiconPartsOf(t, manifest.lexicon.parts))
  const displaysRead = worker.warm.flatMap((a) => displaysFor(index, a.ids))
  const workingSet = new Map([...probed.flat(), ...displaysRead, ...partsRead].map((e) => [e.key, e.bytes]))
  const workingSetBytes = [...workingSet.values()].reduce((a, b) => a + b, 0)
  if (workingSetBytes > SHARD_CACHE_BUDGET_BYTES) notes.push(`the queries touch ${(workingSetBytes / 1048576).toFixed(0)} MiB of shards, display objects and lexicon parts (encoded), more than the Worker's shard cache holds (${SHARD_CACHE_BUDGET_BYTES / 1048576} MiB decoded): first-touch latency includes evictions and re-reads; warm stays warm (each query is repeated at once)`)
  const measured = (a: TimedAnswer): Measured => ({ ms: a.ms, server: a.server })
  if (worker.warm.some((a) => !a.server)) notes.push('the Worker sent no Server-Timing header: no breakdown of its time')
  if (worker.route === 'wrangler-proxy') notes.push("the Worker's own socket was not found: every request went through wrangler dev's proxy, which adds several ms")

  return {
    corpus: options.corpus,
    docs: manifest.docs,
    queries: texts.length,
    querySource,
    k: options.k,
    index: {
      dir: index.dir,
      name: manifest.name,
      version: manifest.version,
      shards: manifest.shards.length,
      shardBytes: manifest.shards.reduce((s, e) => s + e.bytes, 0),
      displayBytes: manifest.shards.reduce((s, e) => s + e.display.bytes, 0),
      lexiconBytes: manifest.lexicon.parts.reduce((s, p) => s + p.bytes, 0),
      modelBytes: manifest.model.bytes,
      reused: resolved.reused,
      probeDocs: manifest.search.probeDocs,
    },
    warm: worker.warm.map(measured),
    warmFirstPass: worker.warmFirstPass.map(measured),
    firstTouch: worker.firstTouch.map(measured),
    cold: worker.cold.map((a, i) => ({ ...measured(a), cpuMs: worker.coldCpuMs[i] })),
    route: worker.route,
    healthzMs: worker.healthz,
    warmViaProxy: worker.warmViaProxy.map(measured),
    healthzViaProxyMs: worker.healthzViaProxy,
    exact: inNode.map(({ exact: e }) => ({ modelMs: e.modelMs, scoreMs: e.scoreMs })),
    gdrInNode: inNode.map(({ gdr }) => ({ modelMs: gdr.modelMs, searchMs: gdr.scoreMs })),
    gdrInNodeMatchesWorker: worker.warm.map((a, i) => a.ids.length === inNode[i].gdr.ids.length && a.ids.every((id, j) => id === inNode[i].gdr.ids[j])),
    exactRecall10: worker.warm.map((a, i) => overlapAt(a.ids, inNode[i].exact.ids, 10)),
    exactRecallAtK: worker.warm.map((a, i) => overlapAt(a.ids, inNode[i].exact.ids, options.k)),
    bytesPerQuery: probed.map((entries, i) => bytesRead(index, SYSTEMS.gdr, terms[i], { ids: worker.warm[i].ids, probed: entries.map((e) => e.node) })),
    shardsPerQuery: probed.map((entries) => entries.length),
    workingSetBytes,
    build: resolved.build && { seconds: resolved.build.seconds, stages: resolved.build.stages },
    memory: worker.memory,
    notes,
    seconds,
  }
}

/** `shards/demo.jsonl` → demo; a BEIR folder's `npm-packages/corpus.jsonl` → npm-packages. */
export function corpusName(path: string): string {
  const name = basename(path).replace(/\.gz$/, '').replace(/\.jsonl?$/, '')
  return name === 'corpus' ? basename(dirname(resolve(path))) : name
}

interface NodeAnswer {
  ids: string[]
  modelMs: number
  /** Routing and scoring (gdr) or scoring every document (exact). */
  scoreMs: number
}

async function answerInNode(index: IndexFolder, text: string, system: SystemSpec, k: number): Promise<NodeAnswer> {
  const t0 = performance.now()
  const outputs = runQueryModel(index, text)
  const t1 = performance.now()
  const { ids } = retrieve(index, outputs, system, { kind: 'default' }, k)
  return { ids, modelMs: t1 - t0, scoreMs: performance.now() - t1 }
}

/**
 * Untimed passes in Node before the timed ones, as the Worker's warm pass comes after
 * JIT_WARM_UP_PASSES: gdr for as many passes (a few seconds), exact for
 * EXACT_WARM_UP_QUERIES (its time is one long hot loop).
 */
async function warmUpInNode(index: IndexFolder, texts: string[], k: number, reporter: Reporter): Promise<void> {
  const stage = reporter.stage('node warm-up', JIT_WARM_UP_PASSES * texts.length, 'queries')
  for (let pass = 0; pass < JIT_WARM_UP_PASSES; pass++) {
    for (const [i, text] of texts.entries()) {
      await answerInNode(index, text, SYSTEMS.gdr, k)
      stage.tick(pass * texts.length + i + 1)
    }
  }
  for (const text of texts.slice(0, EXACT_WARM_UP_QUERIES)) await answerInNode(index, text, SYSTEMS.exact, k)
  stage.done(`warm-up in Node: gdr's own path ${JIT_WARM_UP_PASSES}× over the queries, brute force over ${index.manifest.docs} documents for ${Math.min(texts.length, EXACT_WARM_UP_QUERIES)} (the timed answers come with the Worker's warm pass)`)
}

/**
 * Query i by brute force and by gdr's own path, in Node, one after the other
 * (which goes first alternates, so neither always finds the caches the other left).
 */
async function answerPairInNode(index: IndexFolder, text: string, i: number, k: number): Promise<{ exact: NodeAnswer; gdr: NodeAnswer }> {
  if (i % 2 === 0) {
    const exact = await answerInNode(index, text, SYSTEMS.exact, k)
    return { exact, gdr: await answerInNode(index, text, SYSTEMS.gdr, k) }
  }
  const gdr = await answerInNode(index, text, SYSTEMS.gdr, k)
  return { exact: await answerInNode(index, text, SYSTEMS.exact, k), gdr }
}

interface WorkerRun {
  cold: TimedAnswer[]
  coldCpuMs: (number | undefined)[]
  firstTouch: TimedAnswer[]
  warmFirstPass: TimedAnswer[]
  warm: TimedAnswer[]
  route: BenchReport['route']
  healthz: number[]
  warmViaProxy: TimedAnswer[]
  healthzViaProxy: number[]
  memory: BenchReport['memory']
}

/** `alongside(i, text)` runs after the Worker's warm asks of query i (exact and gdr in Node, timed beside them). */
async function measureWorker(index: IndexFolder, texts: string[], options: BenchOptions, reporter: Reporter, alongside: (i: number, text: string) => Promise<void>): Promise<WorkerRun> {
  const { version } = index.manifest
  const check = (a: TimedAnswer) => {
    if (a.index !== version) throw new Error(`the Worker answered with index version ${a.index}, not ${version}: was "${index.manifest.name}" republished meanwhile?`)
    return a
  }
  await ensurePortFree(options.port)
  const cold: TimedAnswer[] = []
  const coldCpuMs: (number | undefined)[] = []
  let server: DevServer | undefined
  let processes: WorkerProcesses = { worker: [] }
  try {
    // Cold: a fresh wrangler dev (new workerd process, new isolate) per run; its first search loads pointer, manifest, model and shards from R2.
    // Requests go to the Worker's own socket when found (worker-socket.ts); /healthz does not load the index.
    let rssStartMiB: number | undefined
    let target = ''
    for (let run = 0; run < options.coldRuns; run++) {
      if (server) await stopServer(server, options.port, processes)
      server = await startDevServer({ port: options.port, indexName: index.manifest.name, quiet: true, inspectorPort: inspectorPortFor(options.port) })
      processes = workerProcesses(options.port)
      target = (await workerSocketUrl(processes.worker)) ?? server.url
      rssStartMiB = rssMiB(processes.worker)
      const pids = [...processes.worker, ...(processes.proxy === undefined ? [] : [processes.proxy])]
      const cpuBefore = cpuMs(pids)
      const answer = check(await timedSearch(target, texts[run % texts.length], options.k))
      const cpuAfter = cpuMs(pids)
      const cpu = cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore
      cold.push(answer)
      coldCpuMs.push(cpu)
      const load = answer.server?.load ? `; load ${Object.entries(answer.server.load).map(([k, v]) => `${k} ${v}`).join(', ')}` : ''
      reporter.log(`cold run ${run + 1}/${options.coldRuns}: ${answer.ms.toFixed(0)} ms${cpu === undefined ? '' : `, workerd CPU ${cpu} ms`}${answer.server ? ` (Worker: index ${answer.server.index}, model ${answer.server.model}, route ${answer.server.route}, r2 ${answer.server.r2}, score ${answer.server.score} ms${load})` : ''}`)
    }
    if (!server) throw new Error('--cold-runs must be at least 1')
    const isolateFresh = await measureIsolate(server.url, options.port, reporter)

    // On the last server. First pass: each query twice in a row; the first touches its
    // shards, the second finds them in the isolate. Then JIT_WARM_UP_PASSES untimed
    // passes, then the warm pass: each query again right after an untimed ask that
    // reads back what the cache evicted meanwhile, once more through wrangler's
    // proxy, for the HTTP cost of that hop, and then `alongside`.
    const route = target === server.url ? 'wrangler-proxy' : 'worker'
    const viaProxy = route === 'worker'
    const firstTouch: TimedAnswer[] = []
    const warmFirstPass: TimedAnswer[] = []
    const warm: TimedAnswer[] = []
    const warmViaProxy: TimedAnswer[] = []
    const passes = 2 + JIT_WARM_UP_PASSES
    const stage = reporter.stage('worker', texts.length * passes, 'queries')
    for (const [i, text] of texts.entries()) {
      firstTouch.push(check(await timedSearch(target, text, options.k)))
      warmFirstPass.push(check(await timedSearch(target, text, options.k)))
      stage.tick(i + 1)
    }
    for (let pass = 0; pass < JIT_WARM_UP_PASSES; pass++) {
      for (const [i, text] of texts.entries()) {
        check(await timedSearch(target, text, options.k))
        stage.tick((pass + 1) * texts.length + i + 1)
      }
    }
    for (const [i, text] of texts.entries()) {
      check(await timedSearch(target, text, options.k))
      warm.push(check(await timedSearch(target, text, options.k)))
      if (viaProxy) warmViaProxy.push(check(await timedSearch(server.url, text, options.k)))
      await alongside(i, text)
      stage.tick((passes - 1) * texts.length + i + 1)
    }
    stage.done(`${texts.length} queries over HTTP to ${target}/search: first touch and again, ${JIT_WARM_UP_PASSES} untimed passes, then warm${viaProxy ? ` (the Worker's own socket; again through wrangler's proxy, ${server.url})` : ''} (k=${options.k}, one at a time)`)
    const healthz = await timeHealthz(target, HEALTHZ_SAMPLES)
    const healthzViaProxy = viaProxy ? await timeHealthz(server.url, HEALTHZ_SAMPLES) : []
    const isolateEnd = await measureIsolate(server.url, options.port, reporter)
    const memory = {
      isolateFresh,
      isolateEnd,
      rssStartMiB,
      rssEndMiB: rssMiB(processes.worker),
      peakMiB: peakRssMiB(processes.worker),
      proxyPeakMiB: processes.proxy === undefined ? undefined : peakRssMiB([processes.proxy]),
    }
    return { cold, coldCpuMs, firstTouch, warmFirstPass, warm, route, healthz, warmViaProxy, healthzViaProxy, memory }
  } finally {
    if (server) await stopServer(server, options.port, processes)
  }
}

/** Stops wrangler and waits until its workerd processes are gone: they can outlive it briefly, holding the port the next run needs. */
async function stopServer(server: DevServer, port: number, processes: WorkerProcesses): Promise<void> {
  closeConnections()
  await stopDevServer(server)
  const pids = [processes.proxy, ...processes.worker].filter((p): p is number => p !== undefined)
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; ) {
    if (pids.every((pid) => !existsSync(`/proc/${pid}`))) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`wrangler dev on port ${port} stopped, but its workerd (pids ${pids.join(', ')}) is still running after 15 s`)
}

const HEALTHZ_SAMPLES = 50
/**
 * Untimed passes over the queries before the warm one: V8 keeps optimizing the
 * Worker's code (its JavaScript and WebAssembly) over an isolate's first
 * ~2,000 searches. npm 186K, 4 queries repeated, CPU per search in rounds of 400
 * (.tmp/threads.mts): workerd's main thread 4.6 ms in the first round, 3.95 in
 * the next three, 3.5–3.7 from the fifth; V8's background thread 1.8, 0.30, 0.15,
 * then 0.05–0.13 ms. With 200 queries, the first pass (each asked twice) and
 * eight more make the warm pass start after 2,000 searches.
 */
const JIT_WARM_UP_PASSES = 8
/** Queries exact search runs untimed first, for the same reason (Node's V8). */
const EXACT_WARM_UP_QUERIES = 20

/** The inspector port next to the Worker's: 10 above it (8900 → 8910). */
export const inspectorPortFor = (port: number) => (port + 10 <= 65535 ? port + 10 : port - 10)

async function measureIsolate(url: string, port: number, reporter: Reporter): Promise<IsolateMemory | undefined> {
  try {
    return await isolateMemory(url, inspectorPortFor(port))
  } catch (error) {
    reporter.log(`isolate memory not measured: ${(error as Error).message}`)
    return undefined
  }
}

/** The HTTP floor: the cheapest route through the same client, proxy and runtime. */
async function timeHealthz(baseUrl: string, samples: number): Promise<number[]> {
  const ms: number[] = []
  for (let i = 0; i < samples; i++) {
    const started = performance.now()
    await httpGet(`${baseUrl}/healthz`)
    ms.push(performance.now() - started)
  }
  return ms
}

/** wrangler dev on a busy port could leave us timing someone else's server. */
async function ensurePortFree(port: number): Promise<void> {
  try {
    await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) })
  } catch {
    return
  }
  throw new Error(`port ${port} is already in use: stop what listens there or pass another --port`)
}
