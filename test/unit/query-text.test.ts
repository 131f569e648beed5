// Queries cut to the Worker's limit: by code points, as the Worker counts them, in
// the eval and the benchmark alike, so an emoji at the limit is kept whole.
import { afterAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { codePointLength, cutQuery, MAX_QUERY_CHARS } from '../../src/core/query-text.ts'
import { parseGetParams } from '../../src/worker/search-params.ts'
import { DEFAULTS } from '../../src/worker/settings.ts'
import { queryTexts } from '../../scripts/eval/eval.ts'
import { readQueryFile } from '../../scripts/bench/queries.ts'

const dir = mkdtempSync(join(tmpdir(), 'gdr-query-text-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

// 999 ASCII characters, then an emoji across UTF-16 units 999–1000: a cut by units splits it.
const long = `  ${'x'.repeat(MAX_QUERY_CHARS - 1)}\u{1F600}tail `
const cut = `${'x'.repeat(MAX_QUERY_CHARS - 1)}\u{1F600}`
const workerQ = (q: string) => parseGetParams(`http://w/search?q=${encodeURIComponent(q)}`, DEFAULTS.maxQueryChars).q

describe('query text', () => {
  it('cuts by code points, trimmed, to the Worker\'s own limit, which accepts the cut text as it is', () => {
    expect(cutQuery(long)).toBe(cut)
    expect(codePointLength(cut)).toBe(MAX_QUERY_CHARS)
    expect(workerQ(cutQuery(long))).toBe(cut)
    expect(() => workerQ(long.trim())).toThrow(/at most 1000 characters/)
    // Whitespace left at the cut is trimmed, as the Worker would: the text searched is the text sent.
    expect(cutQuery(`${'a'.repeat(MAX_QUERY_CHARS - 1)} b`)).toBe('a'.repeat(MAX_QUERY_CHARS - 1))
    expect(cutQuery(' short query ')).toBe('short query')
  })

  it('the eval and the benchmark send the same cut text, which the Worker accepts', () => {
    const { texts, truncated } = queryTexts([{ id: 'q1', text: long }, { id: 'q2', text: ' short ' }])
    expect(texts).toEqual([cut, 'short'])
    expect(truncated).toBe(1)
    expect(workerQ(texts[0])).toBe(texts[0])
    const file = join(dir, 'queries.txt')
    writeFileSync(file, `${long}\n short \n`)
    expect(readQueryFile(file).map((q) => q.text)).toEqual(texts)
  })
})
