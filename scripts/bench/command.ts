// Registers `gdr bench` on the CLI (scripts/cli.ts calls registerBenchCommand once).

import { existsSync, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { Command } from 'commander'
import { PROJECT_ROOT } from '../local-r2.ts'
import { createReporter, type Reporter } from '../progress.ts'
import { buildOverrides, integer, withBuildOverrides } from '../cli-options.ts'
import { DEFAULT_BUILD } from '../build/build-index.ts'
import { DEFAULT_BENCH, runBench } from './bench.ts'
import { reportJson, reportTable } from './report.ts'
import { defaultTopics, writeSyntheticCorpus } from './synthetic.ts'

/** The synthetic corpus file: generated once per size and seed, then reused (it is deterministic). */
async function syntheticCorpus(docs: number, seed: number, out: string | undefined, reporter: Reporter): Promise<string> {
  const path = out ?? join(PROJECT_ROOT, 'shards', `synthetic-${docs}-s${seed}.jsonl.gz`)
  if (existsSync(path)) {
    reporter.log(`reusing the synthetic corpus ${path} (same size and seed give the same documents; delete it to regenerate)`)
    return path
  }
  mkdirSync(dirname(path), { recursive: true })
  const stage = reporter.stage('synthetic', docs, 'docs')
  const summary = await writeSyntheticCorpus(path, { docs, seed }, (done) => stage.tick(done))
  const rate = summary.docs / summary.seconds
  stage.done(`${summary.docs} docs over ${summary.topics} topics → ${path}: ${(summary.bytes / 1048576).toFixed(0)} MiB of JSONL in ${summary.seconds.toFixed(1)} s (${Math.round(rate).toLocaleString('en-US')} docs/s, ${(summary.bytes / 1048576 / summary.seconds).toFixed(1)} MiB/s)`)
  return path
}

export function registerBenchCommand(cli: Command): void {
  const bench = cli
    .command('bench')
    .description('build (or reuse) an index, serve it with wrangler dev on local R2, and measure cold/warm latency, R2 bytes per query, memory and build time against exact search')
    .option('--corpus <file>', 'JSON lines, optionally .gz: {"_id", "title"?, "text"} per line')
    .option('--synthetic <n>', `generate a synthetic corpus of n documents (topic model, ${defaultTopics(20_000)} topics at 20,000 docs, ${defaultTopics(1_000_000)} at 1M) and benchmark it`, integer(1, 100_000_000))
    .option('--generate-only', 'with --synthetic: write the corpus and stop', false)
    .option('--queries <file>', 'queries, one per line (default: pseudo-queries drawn from the corpus)')
    .option('--query-count <n>', 'pseudo-queries to draw, or the first n lines of --queries', integer(1, 100_000), DEFAULT_BENCH.queryCount)
    .option('--json', 'print one JSON line of results on stdout', false)
    .option('--index <dir>', 'benchmark this already-built index of the corpus instead of building one')
    .option('--out <path>', 'where to build the index (default shards/bench-<corpus>); with --synthetic, where to write the corpus (default shards/synthetic-<n>-s<seed>.jsonl.gz)')
    .option('--rebuild', 'build even when the index folder already holds a build of this corpus with these options', false)
    .option('--port <n>', 'port for wrangler dev', integer(1, 65535), DEFAULT_BENCH.port)
    .option('--cold-runs <n>', 'fresh wrangler dev processes whose first query is timed', integer(1, 20), DEFAULT_BENCH.coldRuns)
    .option('--k <n>', 'results per query (at least 10: exactRecall10 compares top 10s)', integer(10, 100), DEFAULT_BENCH.k)
  withBuildOverrides(bench)
    .option('--quiet', 'no progress output', false)
    .action(async (opts, command: Command) => {
      const reporter = createReporter(opts.quiet)
      if ((opts.corpus === undefined) === (opts.synthetic === undefined)) command.error('error: give exactly one of --corpus <file> and --synthetic <n>')
      if (opts.generateOnly && opts.synthetic === undefined) command.error('error: --generate-only needs --synthetic')
      let corpus: string = opts.corpus
      let out: string | undefined = opts.out
      if (opts.synthetic !== undefined) {
        corpus = await syntheticCorpus(opts.synthetic, opts.seed ?? DEFAULT_BUILD.seed, opts.out, reporter)
        if (opts.generateOnly) return
        out = undefined // --out named the corpus file
      }
      const build = buildOverrides(opts)
      const report = await runBench({ ...DEFAULT_BENCH, ...opts, corpus, out, build }, reporter)
      process.stdout.write((opts.json ? reportJson(report) : reportTable(report)) + '\n')
    })
}
