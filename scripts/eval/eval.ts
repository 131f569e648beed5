// `gdr eval`: builds an index from a BEIR folder's corpus (never reading its
// queries or judgments for that), serves it with `wrangler dev` on local R2,
// sends every judged query to the Worker's /search over HTTP, and scores the
// answers next to exact search, IVF routing and BM25 on the same corpus.

import { join } from 'node:path'
import { buildIndex, DEFAULT_BUILD, documentText, type BuildOptions } from '../build/build-index.ts'
import { readCorpus } from '../build/corpus.ts'
import { PROJECT_ROOT, withLocalBucket } from '../local-r2.ts'
import { stageClock, type Reporter } from '../progress.ts'
import { publishFolder } from '../publish.ts'
import { startDevServer, type DevServer } from '../serve.ts'
import { beirPaths, loadQueriesAndQrels, type BeirQuery } from './beir.ts'
import { cutQuery, MAX_QUERY_CHARS } from '../../src/core/query-text.ts'
import { Bm25Index, DEFAULT_BM25 } from './bm25.ts'
import { words } from '../../src/core/lexical.ts'
import { cidKey } from '../../src/core/tree.ts'
import { meanOf, overlapAt, rankingMetrics, type Gain, type RankingMetrics } from './metrics.ts'
import { bytesRead, exactFor, openIndexFolder, retrieve, SYSTEMS, type Budget, type IndexFolder, type QueryOutputs, type Retrieved, type SystemSpec, runQueryModel } from './systems.ts'
import { queryWorker, type WorkerAnswer } from './worker-client.ts'

const K = 100

export interface EvalOptions {
  data: string
  /** An index folder already built from this corpus: skips the build. */
  index?: string
  /** Where to build (default shards/eval-<dataset>). */
  out?: string
  port: number
  concurrency: number
  sweep: boolean
  ablation: boolean
  /** Sweep budgets, as fractions of the leaf shards. */
  budgets: number[]
  /** The fixed-budget column of the ablation, as a fraction of the leaf shards. */
  ablationBudget: number
  /** nDCG gain: 2^grade − 1 (default) or the grade. */
  gain: Gain
  /** Overrides the manifest's α in the simulated fused rows (sweep, ablation); the Worker's gdr row keeps the manifest's. */
  alpha?: number
  build: Partial<Pick<BuildOptions, 'seed' | 'probeDocs' | 'leafSize' | 'maxLeaves' | 'epochs'>>
}

export const DEFAULT_EVAL: Omit<EvalOptions, 'data'> = {
  port: 8830,
  concurrency: 6,
  sweep: false,
  ablation: false,
  budgets: [0.05, 0.1, 0.2, 0.5, 1],
  ablationBudget: 0.2,
  gain: 'exponential',
  build: {},
}

export interface Metrics extends RankingMetrics {
  exactRecall10?: number
  /** Overlap of the top 100 with brute force's under the same scoring: routing's reach at R@100's depth, without the judgments' luck. */
  exactRecall100?: number
  shardsFrac?: number
  bytesPerQuery?: number
}

export interface BudgetRow {
  /** "default" (the manifest's, as the Worker plans it) or the shard count. */
  budget: string
  shards: number | null
  system: string
  metrics: Metrics
}

export interface EvalReport {
  gain: Gain
  /** α of the simulated fused rows. */
  alpha: number
  /** The lexical weight of every hybrid and fused score (from the manifest). */
  beta: number
  dataset: string
  docs: number
  queries: number
  systems: { gdr: Metrics; ivf: Metrics; exact: Metrics; bm25: Metrics }
  index: { dir: string; name: string; version: string; leaves: number; dims: number; alpha: number; beam: number; probeDocs: number; modelBytes: number; shardBytes: number }
  worker: { url: string; tookMsP50: number; tookMsP95: number; simulationIdentical: number; simulationMaxScoreDiff: number }
  sweep?: BudgetRow[]
  ablation?: BudgetRow[]
  notes: string[]
  seconds: Record<string, number>
}

export interface PerQuery {
  id: string
  judged: ReadonlyMap<string, number>
  outputs: QueryOutputs
  exact: Retrieved
}

export async function runEval(options: EvalOptions, reporter: Reporter): Promise<EvalReport> {
  const { seconds, timed } = stageClock()
  const notes: string[] = []
  const paths = beirPaths(options.data)
  const name = `eval-${paths.name}`.replace(/[^A-Za-z0-9._-]/g, '-')

  // 1. The index, from the corpus alone.
  let indexDir = options.index
  if (!indexDir) {
    indexDir = options.out ?? join(PROJECT_ROOT, 'shards', name)
    const out = indexDir
    await timed('build', () => buildIndex({ ...DEFAULT_BUILD, ...options.build, name, corpus: paths.corpus, out }, reporter))
  }
  const index = await timed('load', () => openIndexFolder(indexDir))
  const { manifest } = index
  const { docs: corpus } = await timed('read', () => readCorpus(paths.corpus))
  const indexed = new Set(index.leafOf.keys())
  if (indexed.size !== corpus.length || corpus.some((d) => !indexed.has(d.id))) {
    throw new Error(`${index.dir} was not built from ${paths.corpus} (${indexed.size} indexed documents, ${corpus.length} in the corpus)`)
  }

  // 2. Queries and judgments, only now.
  const { judged, qrels, unjudged, orphanQrels } = loadQueriesAndQrels(paths)
  if (unjudged) notes.push(`${unjudged} queries without a relevant judgment are not evaluated`)
  if (orphanQrels) notes.push(`${orphanQrels} judged query ids are not in queries.jsonl`)
  const unknownDocs = new Set(judged.flatMap((q) => [...qrels.get(q.id)!.keys()].filter((d) => !indexed.has(d)))).size
  if (unknownDocs) notes.push(`${unknownDocs} judged document ids are not in the corpus (they still count as relevant: recall cannot reach 1)`)
  const { texts, truncated } = queryTexts(judged)
  if (truncated) notes.push(`${truncated} queries were cut to ${MAX_QUERY_CHARS} characters (code points, the Worker's limit) for every system`)
  const empty = texts.filter((t) => t === '').length
  if (empty) throw new Error(`${empty} judged queries are empty`)

  // 3. The same query vectors and logits as the Worker, in Node; exact search from them.
  const perQuery: PerQuery[] = await timed('model', async () => {
    const stage = reporter.stage('query model', judged.length, 'queries')
    const rows: PerQuery[] = []
    for (const [i, q] of judged.entries()) {
      const outputs = runQueryModel(index, texts[i])
      rows.push({ id: q.id, judged: qrels.get(q.id)!, outputs, exact: retrieve(index, outputs, SYSTEMS.exact, { kind: 'default' }, K) })
      stage.tick(i + 1)
    }
    stage.done(`${judged.length} queries through ${manifest.model.key} + exact search over ${manifest.docs} documents`)
    return rows
  })

  // 4. GDR through the real Worker.
  const { answers, url } = await timed('worker', () => askWorker(index, texts, options, reporter))
  const wrongVersion = answers.find((a) => a.index !== manifest.version)
  if (wrongVersion) throw new Error(`the Worker answered with index version ${wrongVersion.index}, not ${manifest.version}: was "${manifest.name}" republished meanwhile?`)
  const workerProbed = answers.map((a) =>
    a.clusters.map((cid) => {
      const entry = index.byCid.get(cidKey(cid))
      if (!entry) throw new Error(`the Worker read cluster ${cidKey(cid)}, which the index folder does not have`)
      return entry.node
    }),
  )

  // 5. Check that the Node simulation of the Worker is exact at the default budget.
  let identical = 0
  let maxScoreDiff = 0
  perQuery.forEach((q, i) => {
    const sim = retrieve(index, q.outputs, SYSTEMS.gdr, { kind: 'default' }, K)
    const a = answers[i]
    const diff = Math.max(0, ...sim.scores.map((s, j) => Math.abs(s - (a.scores[j] ?? Infinity))))
    if (sim.ids.length === a.ids.length) maxScoreDiff = Math.max(maxScoreDiff, diff)
    if (sim.ids.join('\n') === a.ids.join('\n') && sim.probed.join() === workerProbed[i].join() && diff <= 1e-6) identical++
  })
  if (identical < perQuery.length) notes.push(`WARNING: the Node simulation differs from the Worker on ${perQuery.length - identical} of ${perQuery.length} queries: sweep and ablation rows are simulations and may be off`)

  const bm25 = await timed('bm25', () => {
    const bm = new Bm25Index(corpus.map((d) => words(documentText(d))), DEFAULT_BM25)
    return texts.map((t) => bm.search(words(t), K).map((h) => corpus[h.doc].id))
  })

  const gdrRetrieved: Retrieved[] = answers.map((a, i) => {
    const ranked = { ids: a.ids, scores: a.scores, probed: workerProbed[i] }
    return { ...ranked, bytes: bytesRead(index, SYSTEMS.gdr, perQuery[i].outputs.terms, ranked) }
  })
  const alphaUsed = options.alpha ?? manifest.search.alpha
  if (alphaUsed === 0 && (options.sweep || options.ablation)) notes.push('α = 0 (chosen by the build on held-out pseudo-queries): fused rows equal hybrid rows; try --alpha to see fusion')
  const { systems, sweep, ablation } = scoreSystems(index, perQuery, gdrRetrieved, bm25, options)

  const took = answers.map((a) => a.tookMs).sort((a, b) => a - b)
  const quantile = (p: number) => took[Math.min(took.length - 1, Math.floor(p * took.length))]
  return {
    gain: options.gain,
    alpha: alphaUsed,
    beta: manifest.search.beta,
    dataset: paths.name,
    docs: manifest.docs,
    queries: judged.length,
    systems,
    index: {
      dir: index.dir,
      name: manifest.name,
      version: manifest.version,
      leaves: index.leaves.length,
      dims: manifest.dims,
      alpha: manifest.search.alpha,
      beam: manifest.search.beam,
      probeDocs: manifest.search.probeDocs,
      modelBytes: manifest.model.bytes,
      shardBytes: manifest.shards.reduce((s, e) => s + e.bytes + e.display.bytes, 0),
    },
    worker: { url, tookMsP50: quantile(0.5), tookMsP95: quantile(0.95), simulationIdentical: identical, simulationMaxScoreDiff: maxScoreDiff },
    sweep,
    ablation,
    notes,
    seconds,
  }
}

/** Every system's query texts: cut to the Worker's limit as the Worker counts it (code points), so it accepts each one. */
export function queryTexts(queries: readonly BeirQuery[]): { texts: string[]; truncated: number } {
  const texts = queries.map((q) => cutQuery(q.text))
  return { texts, truncated: queries.filter((q, i) => texts[i] !== q.text.trim()).length }
}

/**
 * Every table's metrics: the main table (gdr from the Worker's answers `gdr`, ivf
 * at the Worker's shard counts, exact, bm25's rankings) and, when asked for, the
 * sweep and ablation rows simulated in Node with the shared core.
 */
export function scoreSystems(index: IndexFolder, perQuery: PerQuery[], gdr: Retrieved[], bm25: string[][], options: Pick<EvalOptions, 'sweep' | 'ablation' | 'budgets' | 'ablationBudget' | 'gain' | 'alpha'>): Pick<EvalReport, 'systems' | 'sweep' | 'ablation'> {
  const leaves = index.leaves.length
  // Exact-recall compares a system with brute force under its own scoring (and α).
  const { manifest } = index
  const references = new Map<string, Retrieved[]>([[`fused:${manifest.search.alpha}`, perQuery.map((q) => q.exact)]])
  const referenceFor = (system: SystemSpec, alpha = manifest.search.alpha) => {
    const reference = exactFor(system.scoring)
    const key = `${reference.scoring}:${reference.scoring === 'fused' ? alpha : 0}`
    let ranked = references.get(key)
    if (!ranked) references.set(key, (ranked = perQuery.map((q) => retrieve(index, q.outputs, reference, { kind: 'default' }, K, alpha))))
    return ranked
  }
  // Every routed system, exact included, is charged the same way: what it read (`bytesRead`).
  const score = (ranked: Retrieved[], reference: Retrieved[]): Metrics =>
    meanOf(ranked.map((r, i) => ({
      ...rankingMetrics(r.ids, perQuery[i].judged, options.gain),
      exactRecall10: overlapAt(r.ids, reference[i].ids, 10),
      exactRecall100: overlapAt(r.ids, reference[i].ids, K),
      shardsFrac: r.probed.length / leaves,
      bytesPerQuery: r.bytes,
    })))
  // IVF reads, for each query, as many leaves as the Worker's decoder did.
  const atWorkerCounts = (system: SystemSpec, alpha?: number) => perQuery.map((q, i) => retrieve(index, q.outputs, system, { kind: 'shards', shards: gdr[i].probed.length }, K, alpha))
  const bm25Metrics = meanOf(bm25.map((ids, i) => ({ ...rankingMetrics(ids, perQuery[i].judged, options.gain) })))
  const systems = {
    gdr: score(gdr, referenceFor(SYSTEMS.gdr)),
    ivf: score(atWorkerCounts(SYSTEMS.ivf), referenceFor(SYSTEMS.ivf)),
    exact: score(perQuery.map((q) => q.exact), referenceFor(SYSTEMS.exact)),
    bm25: bm25Metrics,
  }

  // Sweep and ablation: the Worker's routing simulated in Node with the shared core (runEval checks it against the Worker).
  const atBudget = (system: SystemSpec, budget: Budget) => perQuery.map((q) => retrieve(index, q.outputs, system, budget, K, options.alpha))
  const scoreAt = (system: SystemSpec, budget: Budget) => score(atBudget(system, budget), referenceFor(system, options.alpha))
  const shardCount = (fraction: number) => Math.max(1, Math.min(leaves, Math.round(fraction * leaves)))
  let sweep: BudgetRow[] | undefined
  if (options.sweep) {
    sweep = []
    const counts = [...new Set(options.budgets.map(shardCount))].sort((a, b) => a - b)
    // Pairs that differ in routing alone: the Worker's score (with and without lexical routing), then the dense part by itself.
    const pairs: [SystemSpec, SystemSpec][] = [[SYSTEMS.gdr, SYSTEMS.ivf], [SYSTEMS.gdrDecoder, SYSTEMS.ivf], [SYSTEMS.gdrDense, SYSTEMS.ivfDense]]
    for (const n of counts) {
      for (const [decoder, centroid] of pairs) {
        const a = scoreAt(decoder, { kind: 'shards', shards: n })
        const b = scoreAt(centroid, { kind: 'shards', shards: n })
        sweep.push({ budget: `${n}`, shards: n, system: decoder.name, metrics: a }, { budget: `${n}`, shards: n, system: centroid.name, metrics: b })
        sweep.push({ budget: `${n}`, shards: n, system: `Δ ${decoder.name}−${centroid.name}`, metrics: difference(a, b) })
      }
    }
  }
  let ablation: BudgetRow[] | undefined
  if (options.ablation) {
    ablation = []
    const routed: SystemSpec[] = [SYSTEMS.gdr, SYSTEMS.gdrDecoder, SYSTEMS.gdrHybrid, SYSTEMS.gdrDense, SYSTEMS.ivf, SYSTEMS.ivfHybrid, SYSTEMS.ivfDense]
    ablation.push({ budget: 'default', shards: null, system: 'gdr (Worker)', metrics: systems.gdr })
    for (const system of routed) {
      if (system === SYSTEMS.gdr && options.alpha === undefined) continue // the Worker's row is this one
      const ranked = system.routing === 'decoder' || system.routing === 'decoder-only' ? atBudget(system, { kind: 'default' }) : atWorkerCounts(system, options.alpha)
      ablation.push({ budget: 'default', shards: null, system: system.name, metrics: score(ranked, referenceFor(system, options.alpha)) })
    }
    const n = shardCount(options.ablationBudget)
    for (const system of routed) ablation.push({ budget: `${n}`, shards: n, system: system.name, metrics: scoreAt(system, { kind: 'shards', shards: n }) })
    for (const system of [SYSTEMS.exact, SYSTEMS.exactHybrid, SYSTEMS.exactDense]) ablation.push({ budget: 'all', shards: leaves, system: system.name, metrics: scoreAt(system, { kind: 'default' }) })
    ablation.push({ budget: '-', shards: null, system: 'bm25', metrics: bm25Metrics })
  }

  return { systems, sweep, ablation }
}

function difference(a: Metrics, b: Metrics): Metrics {
  const d = (x?: number, y?: number) => (x === undefined || y === undefined ? undefined : x - y)
  return { ndcg10: a.ndcg10 - b.ndcg10, mrr10: a.mrr10 - b.mrr10, r100: a.r100 - b.r100, exactRecall10: d(a.exactRecall10, b.exactRecall10), exactRecall100: d(a.exactRecall100, b.exactRecall100), shardsFrac: d(a.shardsFrac, b.shardsFrac), bytesPerQuery: d(a.bytesPerQuery, b.bytesPerQuery) }
}

async function askWorker(index: IndexFolder, texts: string[], options: EvalOptions, reporter: Reporter): Promise<{ answers: WorkerAnswer[]; url: string }> {
  await withLocalBucket((bucket) => publishFolder(index.dir, bucket, reporter))
  reporter.log(`starting wrangler dev on port ${options.port} (index "${index.manifest.name}")`)
  const server = await startDevServer({ port: options.port, indexName: index.manifest.name, quiet: true })
  try {
    const stage = reporter.stage('worker', texts.length, 'queries')
    const answers = await queryWorker(server.url, texts, { k: K, concurrency: options.concurrency, onProgress: (done) => stage.tick(done) })
    stage.done(`${texts.length} queries over HTTP to ${server.url}/search (k=${K}, ${options.concurrency} in flight)`)
    return { answers, url: server.url }
  } finally {
    await stopServer(server)
  }
}

export async function stopServer(server: DevServer): Promise<void> {
  if (server.process.exitCode !== null || server.process.signalCode !== null) return
  server.process.kill('SIGTERM')
  const timer = setTimeout(() => server.process.kill('SIGKILL'), 10_000)
  await server.exited
  clearTimeout(timer)
}

// ---------- output ----------

const round = (x: number, digits = 4) => Math.round(x * 10 ** digits) / 10 ** digits

/** The specified metrics; `deep` adds exactRecall100 to a routed row (sweep and ablation rows, not the specified `systems`). */
function jsonMetrics(m: Metrics, routed: boolean, deep = false) {
  const out: Record<string, number> = { ndcg10: round(m.ndcg10), mrr10: round(m.mrr10), r100: round(m.r100) }
  if (routed) {
    out.exactRecall10 = round(m.exactRecall10 ?? 0)
    if (deep) out.exactRecall100 = round(m.exactRecall100 ?? 0)
    out.shardsFrac = round(m.shardsFrac ?? 0)
    out.bytesPerQuery = Math.round(m.bytesPerQuery ?? 0)
  }
  return out
}

/** The `--json` line: exactly the specified shape, plus `sweep`/`ablation` (with exactRecall100) when asked for. */
export function reportJson(report: EvalReport): string {
  const s = report.systems
  const json: Record<string, unknown> = {
    dataset: report.dataset,
    docs: report.docs,
    queries: report.queries,
    systems: { gdr: jsonMetrics(s.gdr, true), ivf: jsonMetrics(s.ivf, true), exact: jsonMetrics(s.exact, false), bm25: jsonMetrics(s.bm25, false) },
  }
  const rows = (list: BudgetRow[]) => list.filter((r) => !r.system.startsWith('Δ')).map((r) => ({ budget: r.budget, shards: r.shards, system: r.system, ...jsonMetrics(r.metrics, r.metrics.shardsFrac !== undefined, true) }))
  if (report.sweep) json.sweep = rows(report.sweep)
  if (report.ablation) json.ablation = rows(report.ablation)
  return JSON.stringify(json)
}

function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))]
  const widths = header.map((_, c) => Math.max(...cells.map((r) => r[c].length)))
  const line = (r: string[]) => r.map((cell, c) => (c === 0 || c === 1 && header[1] === 'system' ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ').trimEnd()
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.slice(1).map(line)].join('\n')
}

const f3 = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(3))
const pct = (x: number | undefined) => (x === undefined ? '-' : `${(100 * x).toFixed(1)}%`)
const kib = (x: number | undefined) => (x === undefined ? '-' : (x / 1024).toFixed(1))
const signed = (x: number | undefined) => (x === undefined ? '-' : `${x >= 0 ? '+' : ''}${x.toFixed(3)}`)
const metricCells = (m: Metrics) => [f3(m.ndcg10), f3(m.mrr10), f3(m.r100), f3(m.exactRecall10), f3(m.exactRecall100), pct(m.shardsFrac), kib(m.bytesPerQuery)]
const deltaCells = (m: Metrics) => [signed(m.ndcg10), signed(m.mrr10), signed(m.r100), signed(m.exactRecall10), signed(m.exactRecall100), '', '']
const METRIC_HEADER = ['nDCG@10', 'MRR@10', 'R@100', 'exactR@10', 'exactR@100', 'shards', 'KiB/query']

export function reportTable(report: EvalReport): string {
  const { index: ix, systems: s, worker: w } = report
  const out: string[] = []
  out.push(`gdr eval: ${report.dataset}, ${report.docs} docs, ${report.queries} judged queries`)
  out.push(`index ${ix.name}@${ix.version}: ${ix.leaves} leaf shards (${kib(ix.shardBytes / ix.leaves)} KiB each on average), ${ix.dims} dims, model ${(ix.modelBytes / 1048576).toFixed(1)} MiB; search α=${ix.alpha}, beam ${ix.beam}, probeDocs ${ix.probeDocs}`)
  out.push('')
  out.push(table(['system', ...METRIC_HEADER], [
    ['gdr', ...metricCells(s.gdr)],
    ['ivf', ...metricCells(s.ivf)],
    ['exact', ...metricCells(s.exact)],
    ['bm25', ...metricCells(s.bm25)],
  ]))
  out.push('')
  out.push(`gdr: the Worker over HTTP (wrangler dev, local R2, k=100); took_ms p50 ${w.tookMsP50}, p95 ${w.tookMsP95}.`)
  out.push(`ivf: the same number of leaves per query as gdr read, chosen by nearest centroid (the index's leaf centroids, the ones gdr's routing compares the query with); the Worker's score.`)
  out.push(`exact: brute force over every document with the same query vectors and the Worker's score q·d + β·BM25 + α·p(cluster) (β=${report.beta}, α=${ix.alpha}; p from the decoder over the whole tree); bm25: k1=${DEFAULT_BM25.k1} b=${DEFAULT_BM25.b}, Porter2 stems, NLTK English stopwords.`)
  out.push(`nDCG@10 gain: ${report.gain === 'linear' ? 'the grade (trec_eval)' : '2^grade − 1'}; R@100 and MRR@10 count grade > 0 as relevant; exactR@10 / exactR@100 = overlap with the top 10 / 100 of brute force under the same scoring (exactR@100: what routing reaches at R@100's depth, judgments aside).`)
  out.push(`Node simulation of the Worker (used for sweep/ablation): identical on ${w.simulationIdentical}/${report.queries} queries (ids, leaves read, scores; max score diff ${w.simulationMaxScoreDiff.toExponential(1)}).`)
  const budgetTable = (rows: BudgetRow[]) =>
    table(['budget', 'system', ...METRIC_HEADER], rows.map((r) => [r.shards === null ? r.budget : `${r.budget === 'all' ? 'all' : r.shards}/${ix.leaves}`, r.system, ...(r.system.startsWith('Δ') ? deltaCells : metricCells)(r.metrics)]))
  if (report.sweep) {
    out.push('')
    out.push(`probe budget sweep (leaf shards read per query, the same for every system; Node simulation; fused α=${report.alpha}):`)
    out.push(budgetTable(report.sweep))
  }
  if (report.ablation) {
    out.push('')
    out.push(`ablation (routing × scoring; "default" = the Worker's own per-query budget, ivf rows matched per query; simulated fused α=${report.alpha}):`)
    out.push(budgetTable(report.ablation))
    out.push(Object.values(SYSTEMS).map((x) => `  ${x.name}: ${x.label}`).join('\n'))
  }
  for (const note of report.notes) out.push(`note: ${note}`)
  out.push(`time: ${Object.entries(report.seconds).map(([k, v]) => `${k} ${v.toFixed(1)}s`).join(', ')}`)
  return out.join('\n')
}
