// Registers `gdr eval` on the CLI (scripts/cli.ts calls registerEvalCommand once).

import { InvalidArgumentError, type Command } from 'commander'
import { createReporter } from '../progress.ts'
import { buildOverrides, decimal, integer, withBuildOverrides } from '../cli-options.ts'
import { DEFAULT_EVAL, reportJson, reportTable, runEval } from './eval.ts'

const fraction = decimal('a fraction in (0, 1], like 0.2', (x) => x > 0 && x <= 1)

function fractions(value: string): number[] {
  return value.split(',').map((v) => fraction(v.trim()))
}

export function registerEvalCommand(cli: Command): void {
  const command = cli
    .command('eval')
    .description('build an index from a BEIR folder\'s corpus, query it through the Worker (wrangler dev, local R2), and score gdr, ivf, exact and bm25')
    .requiredOption('--data <dir>', 'BEIR folder: corpus.jsonl, queries.jsonl, qrels.tsv')
    .option('--json', 'print one JSON line of results on stdout', false)
    .option('--sweep', 'also compare gdr and ivf over several probe budgets', false)
    .option('--budgets <list>', 'sweep budgets, fractions of the leaf shards', (v) => fractions(v), DEFAULT_EVAL.budgets)
    .option('--ablation', 'also print routing × scoring ablation rows', false)
    .option('--ablation-budget <fraction>', 'fixed budget of the ablation, fraction of the leaf shards', fraction, DEFAULT_EVAL.ablationBudget)
    .option('--gain <kind>', 'nDCG gain: exponential (2^grade − 1) or linear (the grade, as trec_eval)', (v) => {
      if (v !== 'exponential' && v !== 'linear') throw new InvalidArgumentError('expected exponential or linear')
      return v
    }, DEFAULT_EVAL.gain)
    .option('--alpha <x>', 'α for the simulated fused rows of --sweep/--ablation (default: the manifest\'s)', decimal('a number ≥ 0, like 0.05', Number.isFinite))
    .option('--index <dir>', 'evaluate this already-built index of the same corpus instead of building one')
    .option('--out <dir>', 'where to build the index (default shards/eval-<dataset>)')
    .option('--port <n>', 'port for wrangler dev', integer(1, 65535), DEFAULT_EVAL.port)
    .option('--concurrency <n>', 'queries in flight to the Worker', integer(1, 64), DEFAULT_EVAL.concurrency)
  withBuildOverrides(command)
    .option('--quiet', 'no progress output', false)
    .action(async (opts) => {
      const reporter = createReporter(opts.quiet)
      const build = buildOverrides(opts)
      const report = await runEval({ ...DEFAULT_EVAL, ...opts, build }, reporter)
      process.stdout.write((opts.json ? reportJson(report) : reportTable(report)) + '\n')
    })
}
