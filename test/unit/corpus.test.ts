import { afterAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CorpusError, readCorpus } from '../../scripts/build/corpus.ts'

const dir = mkdtempSync(join(tmpdir(), 'gdr-corpus-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function file(name: string, lines: string[], gzip = false): string {
  const path = join(dir, name)
  const text = lines.join('\n') + '\n'
  writeFileSync(path, gzip ? gzipSync(text) : text)
  return path
}

describe('corpus reader', () => {
  it('reads JSONL and gzipped JSONL, numeric ids as strings, title optional', async () => {
    const lines = ['{"_id": "a", "title": "T", "text": "x"}', '', '{"_id": 7, "text": "y", "extra": 1}']
    for (const path of [file('ok.jsonl', lines), file('ok.jsonl.gz', lines, true)]) {
      const { docs, skipped } = await readCorpus(path)
      expect(docs).toEqual([{ id: 'a', title: 'T', text: 'x' }, { id: '7', title: '', text: 'y' }])
      expect(skipped).toBe(0)
    }
  })

  it('stops at the first bad line, naming its number and the reason', async () => {
    const path = file('bad.jsonl', ['{"_id": "a", "text": "x"}', '{"_id": "b", "text": 5}', 'not json'])
    await expect(readCorpus(path)).rejects.toThrow(/bad\.jsonl:2: text: .*--skip-bad/)
  })

  it('with skipBad, skips and counts bad lines, duplicates included', async () => {
    const bad: number[] = []
    const path = file('mixed.jsonl', ['{"_id": "a", "text": "x"}', 'nope', '{"text": "no id"}', '{"_id": "a", "text": "dup"}', '{"_id": "b", "text": "y"}'])
    const { docs, skipped } = await readCorpus(path, { skipBad: true, onBadLine: (n) => bad.push(n) })
    expect(docs.map((d) => d.id)).toEqual(['a', 'b'])
    expect(skipped).toBe(3)
    expect(bad).toEqual([2, 3, 4])
  })

  it('keeps empty documents but counts them', async () => {
    const { docs, empty } = await readCorpus(file('empty.jsonl', ['{"_id": "a", "title": "", "text": ""}', '{"_id": "b", "text": "y"}']))
    expect(docs.length).toBe(2)
    expect(empty).toBe(1)
  })

  it('explains a missing file, an empty corpus and a damaged gzip', async () => {
    await expect(readCorpus(join(dir, 'missing.jsonl'))).rejects.toThrow(/corpus not found/)
    await expect(readCorpus(file('blank.jsonl', ['']))).rejects.toThrow(/no documents/)
    writeFileSync(join(dir, 'broken.jsonl.gz'), Buffer.from('definitely not gzip'))
    await expect(readCorpus(join(dir, 'broken.jsonl.gz'))).rejects.toThrow(CorpusError)
  })
})
