// What `gdr build` refuses before any work: checks that used to fail only at the end of a
// long build, or never.
import { afterAll, describe, expect, it } from 'vitest'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BuildError, buildIndex, checkFinite, DEFAULT_BUILD } from '../../scripts/build/build-index.ts'
import { createReporter } from '../../scripts/progress.ts'
import { runGdr } from './run-gdr.ts'

const dir = mkdtempSync(join(tmpdir(), 'gdr-build-checks-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const TINY = join(import.meta.dirname, '..', 'fixtures', 'tiny-corpus.jsonl')
const quiet = createReporter(true)

describe('the index name', () => {
  it('is checked when the command line is parsed, by the rule publish applies', async () => {
    for (const args of [['build', '--corpus', TINY, '--out', join(dir, 'never'), '--name', 'a/b'], ['serve', '--name', ''], ['versions', '--index-name', 'x/y']]) {
      const { code, stderr } = await runGdr(args)
      expect(code, args[0]).toBe(2)
      expect(stderr).toMatch(/expected an index name: non-empty, without "\/"/)
    }
  })

  it('is checked at the start of buildIndex, for callers other than the CLI', async () => {
    // The corpus does not exist: a name checked only at the end would fail on the corpus first.
    const build = buildIndex({ ...DEFAULT_BUILD, name: 'a/b', corpus: join(dir, 'missing.jsonl'), out: join(dir, 'out') }, quiet)
    await expect(build).rejects.toThrow(BuildError)
    await expect(build).rejects.toThrow(/invalid index name "a\/b"/)
  })
})

describe('the seed', () => {
  it('is checked at the start of buildIndex: the generator keeps 32 bits, so seeds 2^32 apart would build the same index', async () => {
    for (const seed of [2 ** 32, -1, 1.5, Number.NaN]) {
      const build = buildIndex({ ...DEFAULT_BUILD, seed, corpus: join(dir, 'missing.jsonl'), out: join(dir, 'out') }, quiet)
      await expect(build, String(seed)).rejects.toThrow(/invalid seed .*: an integer from 0 to 4294967295/)
    }
  })
})

describe('the --out folder', () => {
  const build = (out: string, corpus = TINY) => buildIndex({ ...DEFAULT_BUILD, corpus, out, encoder: 'lsa', epochs: 1 }, quiet)

  it('is refused when it holds other files, the corpus, or is a file, and nothing is deleted', async () => {
    const mine = join(dir, 'mine')
    mkdirSync(mine)
    writeFileSync(join(mine, 'notes.txt'), 'keep me')
    await expect(build(mine)).rejects.toThrow(/--out .*mine: exists, is not empty and is not an index folder/)
    expect(readFileSync(join(mine, 'notes.txt'), 'utf8')).toBe('keep me')

    // The corpus's own folder, even one that looks like an index (`--out .` beside the corpus).
    const data = join(dir, 'data')
    mkdirSync(data)
    const corpus = join(data, 'corpus.jsonl')
    cpSync(TINY, corpus)
    writeFileSync(join(data, 'manifest.json'), '{}')
    await expect(build(data, corpus)).rejects.toThrow(/holds the corpus/)
    await expect(build(dir, corpus)).rejects.toThrow(/holds the corpus/)
    expect(existsSync(corpus)).toBe(true)

    const file = join(dir, 'a-file')
    writeFileSync(file, 'x')
    await expect(build(file)).rejects.toThrow(/exists and is not a folder/)
  })

  it('on the command line: one line, exit code 1', async () => {
    const mine = join(dir, 'mine-cli')
    mkdirSync(mine)
    writeFileSync(join(mine, 'notes.txt'), 'keep me')
    const { code, stderr } = await runGdr(['build', '--corpus', TINY, '--out', mine, '--quiet'])
    expect(code).toBe(1)
    expect(stderr.trim().split('\n')).toEqual([expect.stringMatching(/^gdr: --out .*not an index folder/)])
    expect(existsSync(join(mine, 'notes.txt'))).toBe(true)
  })

  it('may be an empty folder, and an index folder is replaced by the new build', async () => {
    const out = join(dir, 'index')
    mkdirSync(out)
    const first = await build(out)
    writeFileSync(join(out, 'stale.txt'), 'from the old index')
    const second = await build(out)
    expect(second.manifest.version.split('-')[1]).toBe(first.manifest.version.split('-')[1])
    expect(existsSync(join(out, 'manifest.json'))).toBe(true)
    expect(existsSync(join(out, 'stale.txt'))).toBe(false)
  })
})

describe('non-finite vectors and weights', () => {
  it('stop the build at the stage that made them, naming it', () => {
    expect(() => checkFinite('train', { 'model weights E': Float32Array.of(1, 2), 'model weights Wq': Float32Array.of(0, NaN) })).toThrow(/^train: a non-finite value \(NaN\) in the model weights Wq, at 1; no index was written$/)
    expect(() => checkFinite('encode', { 'document vectors': Float32Array.of(0.5, -0.5) })).not.toThrow()
  })

  it('are never written: float32 vectors near its limit overflow the starting embedding table', async () => {
    // Each value is a valid float32 (3e38), but the least-squares map sums them past float32's range.
    const lines = Array.from({ length: 40 }, (_, i) => JSON.stringify({ _id: `d${i}`, text: `word${i % 7} word${i % 5} common text ${i}`, vector: [3e38, i % 2 ? -3e38 : 3e38, 1.5e38, -3e38] }))
    const corpus = join(dir, 'near-limit.jsonl')
    writeFileSync(corpus, lines.join('\n') + '\n')
    const out = join(dir, 'near-limit-index')
    await expect(buildIndex({ ...DEFAULT_BUILD, corpus, out, epochs: 1 }, quiet)).rejects.toThrow(/^encode: a non-finite value .* in the embedding table/)
    expect(existsSync(out)).toBe(false)
  })
})

describe('skipped lines', () => {
  it('are counted and named on stderr even with --quiet (dropped data, not progress)', async () => {
    const lines = readFileSync(TINY, 'utf8').trim().split('\n')
    const corpus = join(dir, 'with-bad-lines.jsonl')
    writeFileSync(corpus, ['not json', ...lines, '{"_id": 5}', '{"text": "no id"}', '{"_id": "x", "text": 1}', '{"_id": "y"}'].join('\n') + '\n')
    const { code, stderr } = await runGdr(['build', '--corpus', corpus, '--out', join(dir, 'skip-index'), '--skip-bad', '--quiet', '--encoder', 'lsa', '--epochs', '1'])
    expect(code).toBe(0)
    const said = stderr.trim().split('\n')
    expect(said).toHaveLength(1)
    expect(said[0]).toMatch(new RegExp(`^skipped 5 bad lines of .*with-bad-lines\\.jsonl: line 1: not valid JSON; line ${lines.length + 2}: text: .*; line ${lines.length + 3}: _id: .*; …$`))
  })
})
