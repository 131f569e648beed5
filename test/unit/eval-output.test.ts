// `gdr eval` output: the --json line's exact shape, the readable table, and the
// HTTP client's ordering, concurrency limit and retries (against a stub server).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { reportJson, reportTable, type EvalReport, type Metrics } from '../../scripts/eval/eval.ts'
import { queryWorker } from '../../scripts/eval/worker-client.ts'

const routed: Metrics = { ndcg10: 0.31234, mrr10: 0.5, r100: 0.7, exactRecall10: 0.9, exactRecall100: 0.87654, shardsFrac: 0.25, bytesPerQuery: 12345.6 }
const plain: Metrics = { ndcg10: 0.3, mrr10: 0.5, r100: 0.7 }
const report: EvalReport = {
  gain: 'exponential',
  alpha: 0,
  beta: 1.5,
  dataset: 'tiny',
  docs: 36,
  queries: 4,
  systems: { gdr: routed, ivf: routed, exact: plain, bm25: plain },
  index: { dir: '/x', name: 'eval-tiny', version: 'v1', leaves: 6, dims: 32, alpha: 0, beam: 6, probeDocs: 12, modelBytes: 1000, shardBytes: 6000 },
  worker: { url: 'http://127.0.0.1:1', tookMsP50: 1, tookMsP95: 2, simulationIdentical: 4, simulationMaxScoreDiff: 0 },
  notes: [],
  seconds: { build: 1 },
}

describe('gdr eval output', () => {
  it('--json: exactly dataset, docs, queries and the four systems with the specified metrics', () => {
    const json = JSON.parse(reportJson(report))
    expect(Object.keys(json)).toEqual(['dataset', 'docs', 'queries', 'systems'])
    expect(Object.keys(json.systems)).toEqual(['gdr', 'ivf', 'exact', 'bm25'])
    expect(json.systems.gdr).toEqual({ ndcg10: 0.3123, mrr10: 0.5, r100: 0.7, exactRecall10: 0.9, shardsFrac: 0.25, bytesPerQuery: 12346 })
    expect(Object.keys(json.systems.exact)).toEqual(['ndcg10', 'mrr10', 'r100'])
    expect(Object.keys(json.systems.bm25)).toEqual(['ndcg10', 'mrr10', 'r100'])
    expect(reportJson(report)).not.toContain('\n')
  })

  it('--json with --sweep adds a sweep list, with exactRecall100 (difference rows left out)', () => {
    const sweep = [
      { budget: '2', shards: 2, system: 'gdr', metrics: routed },
      { budget: '2', shards: 2, system: 'Δ gdr−ivf', metrics: routed },
    ]
    const json = JSON.parse(reportJson({ ...report, sweep }))
    expect(json.sweep).toEqual([{ budget: '2', shards: 2, system: 'gdr', ndcg10: 0.3123, mrr10: 0.5, r100: 0.7, exactRecall10: 0.9, exactRecall100: 0.8765, shardsFrac: 0.25, bytesPerQuery: 12346 }])
  })

  it('the table has one row per system, with a column per metric', () => {
    const text = reportTable(report)
    for (const name of ['gdr ', 'ivf ', 'exact ', 'bm25 ']) expect(text).toMatch(new RegExp(`^${name}`, 'm'))
    expect(text).toMatch(/^system\s+nDCG@10\s+MRR@10\s+R@100\s+exactR@10\s+exactR@100\s+shards\s+KiB\/query$/m)
    expect(text).toMatch(/^gdr\s+0\.312\s+0\.500\s+0\.700\s+0\.900\s+0\.877\s+25\.0%\s+12\.1$/m)
  })

  it('the exact row shows the bytes exact was charged, as every other row (not every shard and display object)', () => {
    const exact: Metrics = { ...plain, exactRecall10: 1, exactRecall100: 1, shardsFrac: 1, bytesPerQuery: 4096 }
    expect(reportTable({ ...report, systems: { ...report.systems, exact } })).toMatch(/^exact\s+0\.300\s+0\.500\s+0\.700\s+1\.000\s+1\.000\s+100\.0%\s+4\.0$/m)
  })
})

describe('Worker client', () => {
  let server: Server
  let url = ''
  let inFlight = 0
  let maxInFlight = 0
  let failOnce = true
  let degradeOnce = true
  beforeAll(async () => {
    server = createServer((req, res) => {
      const q = new URL(req.url!, 'http://x').searchParams.get('q')!
      if (q === 'flaky' && failOnce) {
        failOnce = false
        res.writeHead(503).end('{"error":{"code":"index_unavailable","message":"loading"}}')
        return
      }
      if (q === 'bad') {
        res.writeHead(400).end('{"error":{"code":"bad_request","message":"no"}}')
        return
      }
      if (q === 'degraded' || (q === 'degraded-once' && degradeOnce)) {
        if (q === 'degraded-once') degradeOnce = false
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ results: [], clusters: [], degraded: true, skipped: [{ cid: [3], reason: 'missing' }], index: 'v1', took_ms: 1 }))
        return
      }
      inFlight++
      maxInFlight = Math.max(maxInFlight, inFlight)
      setTimeout(() => {
        inFlight--
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ results: [{ id: `doc-${q}`, title: '', snippet: '', score: 1.5 }], clusters: [{ cid: [0, 1], prob: 1, docs: 3 }], degraded: false, skipped: [], index: 'v1', took_ms: 2 }))
      }, 5 + Math.random() * 10)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

  it('answers in query order, with at most `concurrency` requests in flight, retrying a 503', async () => {
    const queries = Array.from({ length: 20 }, (_, i) => `q${i}`).concat('flaky', 'ünï code & more')
    const progress: number[] = []
    const answers = await queryWorker(url, queries, { k: 100, concurrency: 3, onProgress: (n) => progress.push(n) })
    expect(answers.map((a) => a.ids[0])).toEqual(queries.map((q) => `doc-${q}`))
    expect(answers[0]).toEqual({ ids: ['doc-q0'], scores: [1.5], clusters: [[0, 1]], index: 'v1', tookMs: 2 })
    expect(maxInFlight).toBeLessThanOrEqual(3)
    expect(progress[progress.length - 1]).toBe(queries.length)
  })

  it('a 400 is an error naming the query', async () => {
    await expect(queryWorker(url, ['bad'], { k: 10, concurrency: 1 })).rejects.toThrow(/"bad".*HTTP 400/)
  })

  it('asks again after a degraded answer (a shard read that ran out of time), and keeps the whole one', async () => {
    const [answer] = await queryWorker(url, ['degraded-once'], { k: 10, concurrency: 1 })
    expect(answer.ids).toEqual(['doc-degraded-once'])
  })

  it('a degraded answer, every time, is an error naming the query and what was skipped: the eval needs every shard', async () => {
    await expect(queryWorker(url, ['q1', 'degraded'], { k: 10, concurrency: 1 })).rejects.toThrow(/degraded answer for "degraded" \(skipped \[\{"cid":\[3\],"reason":"missing"\}\]\).*every shard.*3 tries/)
  })
})
