// Whole text files the CLI reads (queries, judgments): strict UTF-8, BOM dropped.
import { describe, expect, it } from 'vitest'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readTextFile } from '../../scripts/text-file.ts'
import { parseQueries } from '../../scripts/eval/beir.ts'
import { readQueryFile } from '../../scripts/bench/queries.ts'

const dir = mkdtempSync(join(tmpdir(), 'gdr-text-'))
const file = (name: string, bytes: number[] | string) => {
  const path = join(dir, name)
  writeFileSync(path, typeof bytes === 'string' ? bytes : Uint8Array.from(bytes))
  return path
}
const utf8 = (text: string) => [...new TextEncoder().encode(text)]

describe('readTextFile', () => {
  it('drops a leading byte-order mark, keeps the rest as written', () => {
    const path = file('bom.jsonl', [0xef, 0xbb, 0xbf, ...utf8('{"_id":"q1","text":"café \uFEFF"}\n')])
    expect(readTextFile(path)).toBe('{"_id":"q1","text":"café \uFEFF"}\n')
    expect(parseQueries(readTextFile(path), path)).toEqual([{ id: 'q1', text: 'café \uFEFF' }])
  })

  it('refuses bytes that are not UTF-8, naming the first line that holds one', () => {
    const path = file('latin1.jsonl', [...utf8('{"_id":"q1","text":"ok"}\n{"_id":"q2","text":"caf'), 0xe9, ...utf8('"}\n')])
    expect(() => readTextFile(path)).toThrow(`${path}:2: not valid UTF-8`)
    expect(() => readQueryFile(file('queries.txt', [...utf8('fine\n\nbad '), 0xff]))).toThrow(/queries\.txt:3: not valid UTF-8/)
  })
})
