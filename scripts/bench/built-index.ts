// The index a benchmark runs on: built from the corpus, or reused when the
// folder is already a build of this exact corpus with these options by this
// exact build code (a changed builder must not be measured on an old index). The
// build's timings are kept next to the folder (`<dir>.bench.json`, not inside
// it: publish checks every file of the folder), so a reused index still
// reports how long its build took.

import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildIndex, DEFAULT_BUILD, type BuildOptions } from '../build/build-index.ts'
import type { Reporter } from '../progress.ts'
import { readIndexManifest } from '../publish.ts'
import { PROJECT_ROOT } from '../local-r2.ts'

export type BuildSettings = Partial<Pick<BuildOptions, 'seed' | 'probeDocs' | 'leafSize' | 'maxLeaves' | 'epochs'>>

export interface BuildRecord {
  corpus: { path: string; bytes: number; mtimeMs: number }
  settings: BuildSettings
  /** builderFingerprint() of the code that built it. */
  builder?: string
  version: string
  docs: number
  /** Wall time of the whole build. */
  seconds: number
  /** Seconds per stage, as buildIndex reports them. */
  stages: Record<string, number>
}

export interface ResolvedIndex {
  dir: string
  /** Undefined when an index given with --index has no record of its build. */
  build?: BuildRecord
  reused: boolean
}

export const recordPath = (dir: string) => `${resolve(dir)}.bench.json`

/** Packages whose code decides what a build writes (imported by scripts/build and src/core). */
const BUILD_PACKAGES = ['msgpackr', 'onnx-proto', 'onnxruntime-web', 'wink-porter2-stemmer', 'zod']

/** What decides what a build writes: every file of scripts/build and the shared core (the dense kernel's WebAssembly too), the build's other modules, and the installed versions of the packages it uses. */
export function builderInputs(): { files: string[]; packages: string[] } {
  const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))
  const files = ['../build', '../../src/core'].flatMap((folder) =>
    readdirSync(here(folder), { withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => join(here(folder), entry.name))
      .sort(),
  )
  files.push(here('../node-kernel.ts'), here('../text-file.ts'))
  const lock = JSON.parse(readFileSync(here('../../package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> }
  return { files, packages: BUILD_PACKAGES.map((name) => `${name}@${lock.packages[`node_modules/${name}`]?.version}`) }
}

/** sha256 of builderInputs(), in a stable order: an index built by other code or packages is not reused. */
export function builderFingerprint(): string {
  const hash = createHash('sha256')
  const { files, packages } = builderInputs()
  for (const file of files) hash.update(relative(PROJECT_ROOT, file)).update(readFileSync(file))
  for (const pkg of packages) hash.update(pkg)
  return hash.digest('hex').slice(0, 16)
}

function corpusFingerprint(path: string): BuildRecord['corpus'] {
  const stat = statSync(path)
  return { path: resolve(path), bytes: stat.size, mtimeMs: Math.round(stat.mtimeMs) }
}

function readRecord(dir: string): BuildRecord | undefined {
  try {
    return JSON.parse(readFileSync(recordPath(dir), 'utf8')) as BuildRecord
  } catch {
    return undefined
  }
}

/** Whether `dir` holds a build, recorded by gdr bench, of this corpus file (same path, size, mtime) with these settings. */
export function isBuildOf(dir: string, corpus: string, settings: BuildSettings): boolean {
  const record = readRecord(dir)
  if (!record || !existsSync(resolve(dir, 'manifest.json'))) return false
  const now = corpusFingerprint(corpus)
  const sameCorpus = record.corpus.path === now.path && record.corpus.bytes === now.bytes && record.corpus.mtimeMs === now.mtimeMs
  const sameSettings = JSON.stringify({ ...DEFAULT_BUILD, ...record.settings }) === JSON.stringify({ ...DEFAULT_BUILD, ...settings })
  try {
    return sameCorpus && sameSettings && record.builder === builderFingerprint() && readIndexManifest(dir).version === record.version
  } catch {
    return false
  }
}

export async function resolveIndex(options: { corpus: string; dir: string; name: string; settings: BuildSettings; given: boolean; rebuild: boolean }, reporter: Reporter): Promise<ResolvedIndex> {
  const dir = resolve(options.dir)
  const record = readRecord(dir)
  if (options.given) {
    // The caller vouches for it; its build record counts only if it is this corpus's.
    readIndexManifest(dir)
    const build = record && record.corpus.path === resolve(options.corpus) ? record : undefined
    return { dir, build, reused: true }
  }
  if (!options.rebuild && record && isBuildOf(dir, options.corpus, options.settings)) {
    reporter.log(`reusing ${dir} (built in ${record.seconds.toFixed(0)} s from this corpus with these options by this build code; --rebuild to build again)`)
    return { dir, build: record, reused: true }
  }
  const corpus = corpusFingerprint(options.corpus)
  const started = performance.now()
  const summary = await buildIndex({ ...DEFAULT_BUILD, ...options.settings, name: options.name, corpus: options.corpus, out: dir }, reporter)
  const build: BuildRecord = { corpus, settings: options.settings, builder: builderFingerprint(), version: summary.manifest.version, docs: summary.manifest.docs, seconds: (performance.now() - started) / 1000, stages: summary.seconds }
  writeFileSync(recordPath(dir), JSON.stringify(build, null, 1) + '\n')
  return { dir, build, reused: false }
}
