// What `gdr build` refuses before any work: checks that used to fail only at the end of a
// long build, or never.
import { afterAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BuildError, buildIndex, DEFAULT_BUILD } from '../../scripts/build/build-index.ts'
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
