// `npm start`: a demo index of the Markdown documentation installed in
// node_modules, built once and reused, published to local R2 and served.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { buildIndex, DEFAULT_BUILD } from './build/build-index.ts'
import { collectDemoCorpus } from './demo-corpus.ts'
import { createReporter, type Reporter } from './progress.ts'
import { IndexFolderError, publishFolder, readIndexManifest } from './publish.ts'
import { PROJECT_ROOT, withLocalBucket } from './local-r2.ts'
import { ensurePortFree, startDevServer } from './serve.ts'

const DEMO_DIR = join(PROJECT_ROOT, 'shards', 'demo')
const DEMO_CORPUS = join(PROJECT_ROOT, 'shards', 'demo-corpus.jsonl')
const DEMO_NAME = 'demo'
const EXAMPLE_QUERY = 'run an onnx model in the browser with webassembly'

/** Whether an earlier run left a demo index this version can serve; an unreadable one (an older format) is rebuilt. */
function reusable(dir: string, reporter: Reporter): boolean {
  if (!existsSync(join(dir, 'manifest.json'))) return false
  try {
    readIndexManifest(dir)
    return true
  } catch (error) {
    if (!(error instanceof IndexFolderError)) throw error
    reporter.log(`rebuilding the demo index: the one in ${dir} cannot be read by this version (${error.message.split('\n')[0]})`)
    return false
  }
}

export async function runDemo(options: { port: number }): Promise<void> {
  await ensurePortFree(options.port) // before the build: a busy port should not wait for it
  const reporter = createReporter()
  if (reusable(DEMO_DIR, reporter)) {
    reporter.log(`reusing the demo index in ${DEMO_DIR} (delete it to rebuild)`)
  } else {
    const docs = collectDemoCorpus(join(PROJECT_ROOT, 'node_modules'))
    mkdirSync(join(PROJECT_ROOT, 'shards'), { recursive: true })
    writeFileSync(DEMO_CORPUS, docs.map((d) => JSON.stringify({ _id: d._id, title: d.title, text: d.text })).join('\n') + '\n')
    reporter.log(`demo corpus: ${docs.length} sections of package documentation → ${DEMO_CORPUS}`)
    // LSA vectors, skipping the encoder and its test, so the demo answers sooner: the encoder
    // stage took 32 s of a 79 s build of this corpus (beside another build), and its test
    // scored the two 0.850 (LSA) and 0.851 (trained), too close to be worth the wait.
    await buildIndex({ ...DEFAULT_BUILD, name: DEMO_NAME, corpus: DEMO_CORPUS, out: DEMO_DIR, encoder: 'lsa' }, reporter)
  }
  await withLocalBucket((bucket) => publishFolder(DEMO_DIR, bucket, reporter))
  const server = await startDevServer({ port: options.port, indexName: DEMO_NAME, quiet: true })
  const example = `${server.url.replace('127.0.0.1', 'localhost')}/search?q=${encodeURIComponent(EXAMPLE_QUERY).replace(/%20/g, '+')}&k=5`
  reporter.log(`\ngdr-edge demo is running at ${server.url.replace('127.0.0.1', 'localhost')}`)
  reporter.log(`  curl '${example}'`)
  reporter.log('  (Ctrl-C to stop)')
  const code = await server.exited
  if (code !== 0) throw new Error(`wrangler dev exited with code ${code} (npx gdr serve --name ${DEMO_NAME} shows its output)`)
}
