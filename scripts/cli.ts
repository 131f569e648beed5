// `gdr`: build, publish and serve indexes. Each command exits non-zero with a
// one-line reason on bad input.

import { Command, CommanderError, InvalidArgumentError } from 'commander'
import { BuildError, buildIndex, DEFAULT_BUILD } from './build/build-index.ts'
import { CorpusError } from './build/corpus.ts'
import { createReporter } from './progress.ts'
import { encoderEpochs, encoderMode, indexName, integer, randomSeed } from './cli-options.ts'
import { dryRunFolder, IndexFolderError, publishFolder, readIndexManifest } from './publish.ts'
import { withLocalBucket } from './local-r2.ts'
import { remoteStore, resolveTarget, TargetError, withStore } from './targets.ts'
import { versionsAsJson, versionTable } from './versions-report.ts'
import { PublishError } from '../src/core/publish.ts'
import { collectGarbage, listVersions, rollback, VersionError } from '../src/core/versions.ts'
import { PortInUseError, startDevServer } from './serve.ts'
import { runDemo } from './demo.ts'
import { registerLoadCommand } from './load.ts'
import { registerEvalCommand } from './eval/command.ts'
import { registerBenchCommand } from './bench/command.ts'

/** An error whose message is the whole story for the user: printed as one line, no stack. */
export class UsageError extends Error {
  override name = 'UsageError'
}

const EXPECTED_ERRORS = [UsageError, BuildError, CorpusError, IndexFolderError, PublishError, TargetError, VersionError, PortInUseError]

function powerOfTwo(value: string) {
  const n = integer(2, 1 << 22)(value)
  if ((n & (n - 1)) !== 0) throw new InvalidArgumentError('expected a power of two')
  return n
}

/** --local / --remote / --env / --index-name, shared by publish, versions, rollback and gc. */
function targetOptions(command: Command, envHelp: string, indexNameHelp = "index name; default: the environment's INDEX_NAME"): Command {
  return command
    .option('--local', 'the local R2 of `wrangler dev` (the default)')
    .option('--remote', `the real R2 bucket, over its S3 API (credentials from ${'$'}R2_ACCOUNT_ID, ${'$'}R2_ACCESS_KEY_ID, ${'$'}R2_SECRET_ACCESS_KEY)`)
    .option('--env <name>', envHelp)
    .option('--index-name <name>', indexNameHelp, indexName)
}

function program(): Command {
  const cli = new Command('gdr')
    .description('Generative dense retrieval at the edge: build an index, publish it to R2, serve it from a Worker')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()

  cli
    .command('build')
    .description('build an index (vectors, cluster tree, query model, shards) from a JSONL corpus')
    .requiredOption('--corpus <file>', 'JSON lines, optionally .gz: {"_id", "title"?, "text"} per line')
    .requiredOption('--out <dir>', 'index folder to write: new, empty, or an earlier index (replaced whole, atomically, when done); not the folder of the corpus')
    .option('--name <name>', 'index name: the R2 prefix the Worker serves', indexName, DEFAULT_BUILD.name)
    .option('--skip-bad', 'skip malformed lines instead of stopping (their count is reported)', false)
    .option('--dims <n>', 'vector dimensions', integer(8, 1024), DEFAULT_BUILD.dims)
    .option('--buckets <n>', 'hashed feature buckets (power of two)', powerOfTwo, DEFAULT_BUILD.buckets)
    .option('--max-leaves <n>', 'memory budget: most leaf clusters (shards) in the tree', integer(1, 1 << 16), DEFAULT_BUILD.maxLeaves)
    .option('--leaf-size <n>', 'documents per leaf while the budget is not reached', integer(1), DEFAULT_BUILD.leafSize)
    .option('--probe-docs <n>', 'default probe budget: documents scored per query', integer(1), DEFAULT_BUILD.probeDocs)
    .option('--epochs <n>', 'training epochs over the pseudo-queries', integer(0, 1000), DEFAULT_BUILD.epochs)
    .option('--decoder-hidden <n>', 'width of the cluster-ID decoder (its n-gram memory is buckets × this)', integer(4, 512), DEFAULT_BUILD.decoderHidden)
    .option('--encoder <mode>', 'document vectors: lsa (as factored), trained (refined by a dual encoder), or auto (train, then keep whichever scores better on held-out pseudo-queries)', encoderMode, DEFAULT_BUILD.encoder)
    .option('--encoder-epochs <n>', 'dual-encoder epochs, when it trains', encoderEpochs, DEFAULT_BUILD.encoderEpochs)
    .option('--seed <n>', 'random seed, 0 to 2^32 − 1 (same corpus + seed = same index content)', randomSeed, DEFAULT_BUILD.seed)
    .option('--quiet', 'no progress output', false)
    .action(async (opts) => {
      const reporter = createReporter(opts.quiet)
      const summary = await buildIndex({ ...DEFAULT_BUILD, ...opts, corpus: opts.corpus, out: opts.out }, reporter)
      const stages = Object.entries(summary.seconds).map(([k, v]) => `${k} ${v.toFixed(1)}s`).join(', ')
      reporter.log(`built ${summary.manifest.name}@${summary.manifest.version}: ${summary.manifest.docs} docs, ${summary.manifest.shards.length} shards, model ${(summary.manifest.model.bytes / 1048576).toFixed(1)} MiB → ${summary.dir}`)
      reporter.log(`held-out pseudo-query MRR@10 ${summary.heldOut.mrr10.toFixed(3)} (${summary.heldOut.queries} queries, α=${summary.manifest.search.alpha}); ${stages}`)
    })

  targetOptions(
    cli
      .command('publish')
      .description('upload an index folder under its version prefix, verify every object, then move the pointer')
      .requiredOption('--index <dir>', 'index folder written by gdr build'),
    'wrangler environment whose bucket and pointer to publish to (e.g. preview)',
    "index name (R2 prefix); default: the manifest's name",
  )
    .option('--dry-run', 'print what would be uploaded and skipped; write nothing', false)
    .option('--quiet', 'no progress output', false)
    .action(async (opts) => {
      const reporter = createReporter(opts.quiet)
      const manifest = readIndexManifest(opts.index) // fail fast, before starting the local runtime
      const target = await resolveTarget(opts)
      const name: string = opts.indexName ?? manifest.name
      if (name !== target.indexName) {
        reporter.log(`note: the Worker${target.env ? ` of env ${target.env}` : ''} serves INDEX_NAME "${target.indexName}", this publishes "${name}" (use --index-name to change)`)
      }
      const publishTarget = { name, pointer: target.pointer }
      if (opts.dryRun) {
        const store = target.remote ? remoteStore(target) : undefined
        if (store && 'missing' in store) {
          reporter.log(`dry run against ${target.label}: ${store.missing.join(', ')} not set, so the bucket is not consulted`)
          await dryRunFolder(opts.index, null, publishTarget)
        } else if (store) {
          await dryRunFolder(opts.index, store, publishTarget)
        } else {
          await withLocalBucket((bucket) => dryRunFolder(opts.index, bucket, publishTarget), target.env)
        }
        return
      }
      await withStore(target, (store) => {
        reporter.log(`publishing ${name}@${manifest.version} to ${target.label}`)
        return publishFolder(opts.index, store, reporter, publishTarget)
      })
    })

  targetOptions(
    cli.command('versions').description('list the published versions of an index: size, docs, dates, which pointers name them'),
    'wrangler environment whose bucket to read',
  )
    .option('--json', 'JSON on stdout', false)
    .action(async (opts) => {
      const target = await resolveTarget(opts)
      const name: string = opts.indexName ?? target.indexName
      const versions = await withStore(target, (store) => listVersions(store, name))
      if (opts.json) return void process.stdout.write(versionsAsJson(versions) + '\n')
      if (versions.length === 0) throw new UsageError(`no versions of "${name}" in ${target.label}`)
      process.stdout.write(versionTable(versions).join('\n') + '\n')
    })

  targetOptions(
    cli
      .command('rollback')
      .description("move the environment's pointer to a version already published (refuses an incomplete one)")
      .requiredOption('--to <version>', 'the version to serve'),
    'wrangler environment whose pointer to move (e.g. preview)',
  ).action(async (opts) => {
      const target = await resolveTarget(opts)
      const name: string = opts.indexName ?? target.indexName
      const { previous, pointer } = await withStore(target, (store) => rollback(store, name, target.pointer, opts.to))
      process.stdout.write(`${name}/${target.pointer}: ${previous?.version ?? '(none)'} → ${pointer.version} in ${target.label}\n`)
    })

  targetOptions(
    cli
      .command('gc')
      .description('delete old versions: keeps the most recent ones and every version a pointer names')
      .requiredOption('--keep <n>', 'how many of the most recently published versions to keep', integer(0)),
    'wrangler environment whose bucket to clean',
  )
    .option('--dry-run', 'print what would be deleted; delete nothing', false)
    .action(async (opts) => {
      const target = await resolveTarget(opts)
      const name: string = opts.indexName ?? target.indexName
      const { deleted, kept } = await withStore(target, (store) => collectGarbage(store, name, opts.keep, { dryRun: opts.dryRun }))
      for (const v of deleted) process.stdout.write(`${opts.dryRun ? 'would delete' : 'deleted'}  ${v.version}  (${v.objects} objects)\n`)
      for (const v of kept) process.stdout.write(`kept          ${v.version}${v.pointers.length ? `  ← ${v.pointers.join(', ')}` : ''}\n`)
      process.stdout.write(`${name} in ${target.label}: ${deleted.length} ${opts.dryRun ? 'would be deleted' : 'deleted'}, ${kept.length} kept\n`)
    })

  cli
    .command('serve')
    .description('publish an index locally (optional) and run the Worker with wrangler dev')
    .option('--index <dir>', 'index folder to publish before serving')
    .option('--name <name>', 'index name to serve when --index is not given', indexName, DEFAULT_BUILD.name)
    .option('--port <n>', 'port', integer(1, 65535), 8787)
    .action(async (opts) => {
      const reporter = createReporter()
      let name: string = opts.name
      if (opts.index) {
        name = readIndexManifest(opts.index).name
        await withLocalBucket((bucket) => publishFolder(opts.index, bucket, reporter))
      }
      const server = await startDevServer({ port: opts.port, indexName: name })
      reporter.log(`serving "${name}" at ${server.url}  (try: curl '${server.url}/search?q=hello&k=5')`)
      const code = await server.exited
      if (code !== 0) throw new UsageError(`wrangler dev exited with code ${code}`)
    })

  cli
    .command('demo')
    .description('build (once) and serve a demo index of the documentation shipped in node_modules (npm start)')
    .option('--port <n>', 'port (default: $PORT or 8787)', integer(1, 65535))
    .action(async (opts) => {
      await runDemo({ port: opts.port ?? (process.env.PORT ? integer(1, 65535)(process.env.PORT) : 8787) })
    })

  registerLoadCommand(cli)
  registerEvalCommand(cli)
  registerBenchCommand(cli)

  return cli
}

export async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv)
    return 0
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2
    if (EXPECTED_ERRORS.some((E) => error instanceof E)) {
      process.stderr.write(`gdr: ${(error as Error).message}\n`)
      return 1
    }
    process.stderr.write(`gdr: ${(error as Error).message ?? String(error)}\n`)
    if (process.env.GDR_DEBUG) console.error(error)
    return 1
  }
}
