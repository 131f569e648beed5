// `gdr bench`'s pure parts on tiny inputs: percentiles, pseudo-query sampling,
// the Server-Timing round trip, reuse of a built index, and the --json keys.
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { latencySummary, percentile, standardError } from '../../scripts/bench/stats.ts'
import { MAX_QUERY_CHARS } from '../../src/core/query-text.ts'
import { documentLines, querySeedFor, readQueryFile, samplePseudoQueries } from '../../scripts/bench/queries.ts'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { closeConnections, httpGet, parseServerTiming, serverTimingOf } from '../../scripts/bench/timed-search.ts'
import { builderFingerprint, builderInputs, isBuildOf, recordPath, type BuildRecord } from '../../scripts/bench/built-index.ts'
import { benchSummary, reportJson, reportTable } from '../../scripts/bench/report.ts'
import { corpusName, type BenchReport } from '../../scripts/bench/bench.ts'
import { serverTimingHeader } from '../../src/worker/server-timing.ts'
import { manifestWith, shardAt } from './manifest-fixture.ts'

const dir = mkdtempSync(join(tmpdir(), 'gdr-bench-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('percentiles', () => {
  it('nearest rank: always a measured value', () => {
    const xs = [10, 1, 9, 2, 8, 3, 7, 4, 6, 5]
    expect(percentile(xs, 0.5)).toBe(5)
    expect(percentile(xs, 0.95)).toBe(10)
    expect(percentile(xs, 0.99)).toBe(10)
    expect(percentile(xs, 0)).toBe(1)
    expect(percentile(xs, 0.1)).toBe(1)
    expect(percentile([3], 0.99)).toBe(3)
    expect(percentile([], 0.5)).toBeNaN()
    expect(() => percentile(xs, 1.5)).toThrow()
    expect(xs[0]).toBe(10) // input left unsorted
  })

  it('standardError: the sample standard deviation (n − 1) over √n', () => {
    expect(standardError([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(Math.sqrt(32 / 7 / 8), 12)
    expect(standardError([0.5, 0.5, 0.5])).toBe(0)
    expect(standardError([1])).toBeNaN()
    expect(standardError([])).toBeNaN()
  })

  it('latencySummary', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1)
    expect(latencySummary(xs)).toEqual({ p50_ms: 50, p95_ms: 95, p99_ms: 99, mean_ms: 50.5, max_ms: 100 })
  })
})

describe('benchmark queries', () => {
  const lines = Array.from({ length: 50 }, (_, i) => JSON.stringify({ _id: `d${i}`, title: `T${i}`, text: Array.from({ length: 5 + (i % 20) }, (_, w) => `w${i}x${w}`).join(' ') }))

  it('pseudo-queries: a deterministic sample of spans of 3–10 words of the sampled documents', async () => {
    const options = { count: 10, seed: querySeedFor(1), minWords: 3, maxWords: 10 }
    const a = await samplePseudoQueries(lines, options)
    const b = await samplePseudoQueries(lines, options)
    expect(a).toEqual(b)
    expect(a.docs).toBe(50)
    expect(a.queries).toHaveLength(10)
    expect(new Set(a.queries.map((q) => q.fromDoc)).size).toBe(10)
    for (const q of a.queries) {
      const doc = JSON.parse(lines[Number(q.fromDoc!.slice(1))])
      expect(doc.text).toContain(q.text)
      const n = q.text.split(' ').length
      expect(n).toBeGreaterThanOrEqual(3)
      expect(n).toBeLessThanOrEqual(10)
    }
    expect((await samplePseudoQueries(lines, { ...options, seed: 99 })).queries).not.toEqual(a.queries)
    expect(querySeedFor(1)).not.toBe(1)
  })

  it('pseudo-queries only from the documents the build held out, when given', async () => {
    const from = new Set(['d3', 'd17', 'd40'])
    const sampled = await samplePseudoQueries(lines, { count: 10, seed: 5, minWords: 3, maxWords: 10, from })
    expect(sampled.docs).toBe(50) // every document is still counted (the index check)
    expect(sampled.queries.map((q) => q.fromDoc).sort()).toEqual(['d17', 'd3', 'd40'])
    const two = await samplePseudoQueries(lines, { count: 2, seed: 5, minWords: 3, maxWords: 10, from })
    expect(two.queries.every((q) => from.has(q.fromDoc!))).toBe(true)
    expect(two.queries).toHaveLength(2)
  })

  it('pseudo-queries: fewer documents than asked, bad lines skipped, streamed from a file', async () => {
    const path = join(dir, 'small.jsonl')
    writeFileSync(path, [lines[0], 'not json', '', lines[1]].join('\n') + '\n')
    const sampled = await samplePseudoQueries(documentLines(path), { count: 10, seed: 1, minWords: 3, maxWords: 10 })
    expect(sampled.docs).toBe(2)
    expect(sampled.queries.map((q) => q.fromDoc).sort()).toEqual(['d0', 'd1'])
  })

  it('a queries file: one per line, blank lines skipped, cut to the Worker\'s limit in code points', () => {
    const path = join(dir, 'queries.txt')
    writeFileSync(path, `first query\r\n\n  second  \n${'🙂'.repeat(MAX_QUERY_CHARS + 5)}\n`)
    const queries = readQueryFile(path)
    expect(queries.map((q) => q.text.slice(0, 20))).toEqual(['first query', 'second', '🙂'.repeat(10)])
    expect([...queries[2].text]).toHaveLength(MAX_QUERY_CHARS)
    writeFileSync(path, '\n \n')
    expect(() => readQueryFile(path)).toThrow(/no queries/)
  })
})

describe('Server-Timing', () => {
  it('the Worker\'s header parses back into its stages', () => {
    const header = serverTimingHeader(2, { modelMs: 3, routeMs: 1, r2Ms: 0, scoreMs: 5 })
    expect(parseServerTiming(header)).toEqual({ index: 2, model: 3, route: 1, r2: 0, score: 5, total: 11 })
  })

  it('the load steps of a cold answer come back under `load`', () => {
    const header = serverTimingHeader(60, { modelMs: 3, routeMs: 2, r2Ms: 0, scoreMs: 5 }, { pointer: 10, parse: 4, runtime: 40 })
    expect(header).toBe('index;dur=60, model;dur=3, route;dur=2, r2;dur=0, score;dur=5, total;dur=70, load-pointer;dur=10, load-parse;dur=4, load-runtime;dur=40')
    expect(serverTimingOf(header)).toEqual({ index: 60, model: 3, route: 2, r2: 0, score: 5, total: 70, load: { pointer: 10, parse: 4, runtime: 40 } })
    expect(serverTimingOf(serverTimingHeader(0, { modelMs: 1, routeMs: 0, r2Ms: 0, scoreMs: 1 }))).toEqual({ index: 0, model: 1, route: 0, r2: 0, score: 1, total: 2 })
  })

  it('tolerates descriptions, other entries and garbage', () => {
    expect(parseServerTiming('cache;desc="hit", db;dur=53.2, app;desc=x;dur=7 , bad;dur=abc, ;dur=1')).toEqual({ db: 53.2, app: 7 })
    expect(parseServerTiming(null)).toEqual({})
  })
})

describe('index names', () => {
  it('from the corpus file, or its folder for BEIR-style corpus.jsonl', () => {
    expect(corpusName('shards/demo-corpus.jsonl')).toBe('demo-corpus')
    expect(corpusName('/data/synthetic-1000-s1.jsonl.gz')).toBe('synthetic-1000-s1')
    expect(corpusName('/data/npm-packages/corpus.jsonl')).toBe('npm-packages')
  })
})

describe('reusing a built index', () => {
  it('fingerprints everything the output of a build depends on: the kernel WebAssembly, the other build modules, the packages it uses', () => {
    const { files, packages } = builderInputs()
    for (const file of ['src/core/dense-kernel.wasm', 'src/core/search.ts', 'scripts/build/build-index.ts', 'scripts/node-kernel.ts', 'scripts/text-file.ts']) {
      expect(files.some((f) => f.endsWith(file)), file).toBe(true)
    }
    for (const name of ['wink-porter2-stemmer', 'onnx-proto', 'onnxruntime-web']) expect(packages.find((p) => p.startsWith(`${name}@`)), name).toMatch(/@\d+\.\d+\.\d+/)
    expect(builderFingerprint()).toMatch(/^[0-9a-f]{16}$/)
  })

  it('only a folder built from this very corpus file with the same options by the same build code counts', () => {
    const corpus = join(dir, 'corpus.jsonl')
    writeFileSync(corpus, lines3())
    const index = join(dir, 'index')
    mkdirSync(index, { recursive: true })
    writeFileSync(join(index, 'manifest.json'), JSON.stringify(manifestWith({ parent: [-1, 0, 0] }, [shardAt(1), shardAt(2)])))
    const stat = { bytes: lines3().length, mtimeMs: Date.now() }
    utimesSync(corpus, stat.mtimeMs / 1000, stat.mtimeMs / 1000)
    const record: BuildRecord = { corpus: { path: corpus, bytes: stat.bytes, mtimeMs: Math.round(stat.mtimeMs) }, settings: { seed: 3 }, builder: builderFingerprint(), version: 'v1', docs: 3, seconds: 1, stages: {} }
    writeFileSync(recordPath(index), JSON.stringify(record))
    expect(isBuildOf(index, corpus, { seed: 3 })).toBe(true)
    expect(isBuildOf(index, corpus, { seed: 4 })).toBe(false)
    expect(isBuildOf(index, corpus, {})).toBe(false)
    writeFileSync(recordPath(index), JSON.stringify({ ...record, version: 'v0' }))
    expect(isBuildOf(index, corpus, { seed: 3 })).toBe(false)
    for (const builder of ['0123456789abcdef', undefined]) {
      writeFileSync(recordPath(index), JSON.stringify({ ...record, builder }))
      expect(isBuildOf(index, corpus, { seed: 3 })).toBe(false) // built by other (or unrecorded) build code
    }
    writeFileSync(recordPath(index), JSON.stringify(record))
    writeFileSync(corpus, lines3() + '\n')
    expect(isBuildOf(index, corpus, { seed: 3 })).toBe(false)
  })
})

function lines3(): string {
  return ['a', 'b', 'c'].map((id) => JSON.stringify({ _id: id, text: `text ${id}` })).join('\n')
}

describe('gdr bench output', () => {
  const server = (total: number) => ({ index: 0, model: total - 3, route: 1, r2: 0, score: 2, total })
  const report: BenchReport = {
    corpus: '/x/corpus.jsonl',
    docs: 1000,
    queries: 4,
    querySource: 'pseudo',
    k: 10,
    index: { dir: '/x/index', name: 'bench-corpus', version: 'v1', shards: 16, shardBytes: 1_000_000, displayBytes: 200_000, lexiconBytes: 50_000, modelBytes: 123_456, reused: false, probeDocs: 256 },
    warm: [10, 12, 11, 30].map((ms, i) => ({ ms, server: server(4 + i) })),
    warmFirstPass: [14, 16, 15, 40].map((ms, i) => ({ ms, server: server(6 + i) })),
    firstTouch: [20, 22, 21, 40].map((ms) => ({ ms, server: { ...server(8), r2: 4 } })),
    cold: [500, 700, 600].map((ms, i) => ({ ms, cpuMs: [300, 200, 250][i], server: { index: 400, model: 30, route: 10, r2: 30, score: 10, total: 480, load: { pointer: 10 + i, runtime: 300 } } })),
    route: 'worker',
    healthzMs: [5, 6, 7],
    warmViaProxy: [15, 17, 16, 35].map((ms) => ({ ms })),
    healthzViaProxyMs: [9, 10, 11],
    exact: [1, 2, 3, 4].map((x) => ({ modelMs: 1, scoreMs: 10 * x })),
    gdrInNode: [1, 2, 3, 10].map((x) => ({ modelMs: 0.5, searchMs: x })),
    gdrInNodeMatchesWorker: [true, true, false, true],
    exactRecall10: [1, 0.9, 0.8, 0.7],
    exactRecallAtK: [1, 0.9, 0.8, 0.7],
    bytesPerQuery: [100_000, 200_000, 100_000, 200_000],
    shardsPerQuery: [2, 4, 2, 4],
    workingSetBytes: 400_000,
    build: { seconds: 50, stages: { featurize: 1.234, encode: 20, train: 28.766 } },
    memory: { rssStartMiB: 160, rssEndMiB: 300.04, peakMiB: 320.06, proxyPeakMiB: 90 },
    notes: [],
    seconds: { index: 50 },
  }

  it('--json: one line with every key issue 5 names, computed from the samples', () => {
    const line = reportJson(report)
    expect(line).not.toContain('\n')
    const json = JSON.parse(line)
    const at = (path: string) => path.split('.').reduce((o, k) => o?.[k], json)
    for (const key of ['warm.p50_ms', 'warm.p95_ms', 'cold.p50_ms', 'bytes_per_query', 'bytes_frac', 'exact_ratio', 'exactRecall10', 'build_s', 'model_bytes', 'peak_mem_mb']) {
      expect(at(key), key).toEqual(expect.any(Number))
    }
    expect(json.warm).toMatchObject({ p50_ms: 11, p95_ms: 30, server_p50_ms: 5, model_ms: 2.5, route_ms: 1, r2_ms: 0, score_ms: 2 })
    expect(json.first_touch).toMatchObject({ p50_ms: 21, r2_ms: 4 })
    expect(json.warm_first_pass).toMatchObject({ p50_ms: 15, server_p50_ms: 7, server_ms: 7.5 })
    expect(json.cold).toMatchObject({ p50_ms: 600, runs_ms: [500, 700, 600], index_ms: 400, model_ms: 30, route_ms: 10, load_ms: { pointer: 11, runtime: 300 }, cpu_p50_ms: 250 })
    expect(json.bytes_per_query).toBe(150_000)
    expect(json.bytes_frac).toBe(0.12) // 150 KB of the shards' 1 MB + the display objects' 200 KB + the lexicon's 50 KB
    expect(json.shards_per_query).toBe(3)
    expect(json.exact).toMatchObject({ p50_ms: 21, score_ms: 25 })
    expect(json.exact_ratio).toBe(4.2) // exact p50 21 / the Worker's p50 5
    expect(json.exact_ratio_http).toBeCloseTo(21 / 11, 2)
    expect(json.exact_ratio_mean).toBe(4.73) // exact mean 26 / the Worker's mean 5.5
    expect(json.gdr_in_node).toMatchObject({ p50_ms: 2.5, model_ms: 0.5, search_ms: 4 })
    expect(json.exact_ratio_in_node).toBe(8.4) // exact p50 21 / gdr in Node's p50 2.5
    expect(json.exact_ratio_in_node_mean).toBe(5.78) // exact mean 26 / gdr in Node's mean 4.5
    expect(json.gdr_in_node_matches_worker).toBe(0.75)
    expect(json.exactRecall10).toBe(0.85)
    expect(json.exactRecall10_se).toBe(0.0645) // sample sd of 1, 0.9, 0.8, 0.7 is 0.129; / √4
    expect(json.exactRecall_at_k).toBe(0.85)
    expect(json.build_s).toBe(50)
    expect(json.build_stages_s).toEqual({ featurize: 1.23, encode: 20, train: 28.77 })
    expect(json.docs_per_s).toBe(20)
    expect(json.model_bytes).toBe(123_456)
    expect(json.peak_mem_mb).toBe(320.1)
    expect(json.healthz_p50_ms).toBe(6)
    expect(json.route).toBe('worker')
    expect(json.warm_via_proxy).toMatchObject({ p50_ms: 16, p95_ms: 35, healthz_p50_ms: 10 })
    expect(benchSummary({ ...report, route: 'wrangler-proxy', warmViaProxy: [], healthzViaProxyMs: [] }).warm_via_proxy).toBeNull()
  })

  it('peak_mem_mb is the isolate (heap used + backing stores + the kernels\' WebAssembly memory) when the inspector was read, else the workerd RSS peak', () => {
    const isolate = { heapUsedBytes: 10 * 1048576, heapTotalBytes: 16 * 1048576, backingStoreBytes: 5 * 1048576, wasmMemoryBytes: 40 * 1048576, shardCacheBytes: 4 * 1048576, collected: true }
    const json = benchSummary({ ...report, memory: { ...report.memory, isolateEnd: isolate } })
    expect(json.peak_mem_mb).toBe(55)
    expect(json.peak_mem_measure).toBe('isolate')
    expect(json.mem.isolate_end).toMatchObject({ total_mb: 55, heap_used_mb: 10, backing_store_mb: 5, wasm_mb: 40, shard_cache_mb: 4 })
    expect(json.mem.rss_peak_mb).toBe(320.1)
    expect(benchSummary(report).peak_mem_measure).toBe('workerd_rss')
    expect(reportTable({ ...report, memory: { ...report.memory, isolateEnd: isolate } })).toContain('55 MiB = heap 10 + backing stores 5 + kernels\' wasm 40')
  })

  it('without a build record or Server-Timing the keys stay, as null', () => {
    const json = benchSummary({ ...report, build: undefined, warm: report.warm.map((w) => ({ ms: w.ms })) })
    expect(json.build_s).toBeNull()
    expect(json.docs_per_s).toBeNull()
    expect(json.exact_ratio).toBeNull()
    expect(json.exact_ratio_mean).toBeNull()
    expect(json.warm.model_ms).toBeNull()
    expect(json.warm.p50_ms).toBe(11)
  })

  it('the table is Markdown, one row per measure', () => {
    const text = reportTable(report)
    expect(text).toMatch(/^\| what \| measured \|$/m)
    expect(text).toContain('| warm latency p50 / p95 / p99')
    expect(text).toContain('12.0% of the index')
    expect(text).not.toContain('exactRecall@')
    expect(reportTable({ ...report, k: 100, exactRecallAtK: [0.95, 0.93, 0.9, 0.98] })).toMatch(/^\| exactRecall@100 \(Worker top 100 vs exact top 100\) \| 0\.94 \|$/m)
  })
})

describe('the benchmark HTTP client', () => {
  it('reads status, headers and body over one kept-alive connection per server, and closes them on demand', async () => {
    const sockets = new Set<unknown>()
    const server = createServer((request, response) => {
      sockets.add(request.socket)
      response.setHeader('server-timing', 'total;dur=1')
      response.statusCode = request.url === '/missing' ? 404 : 200
      response.end(`é ${request.url}`)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      const first = await httpGet(`${base}/a`)
      expect(first).toMatchObject({ status: 200, text: 'é /a' })
      expect(first.headers['server-timing']).toBe('total;dur=1')
      expect((await httpGet(`${base}/missing`)).status).toBe(404)
      expect(sockets.size).toBe(1)
      closeConnections()
      await httpGet(`${base}/b`)
      expect(sockets.size).toBe(2)
    } finally {
      closeConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
