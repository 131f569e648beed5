import { afterAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CorpusError, readCorpus } from '../../scripts/build/corpus.ts'
import { documentLines } from '../../scripts/bench/queries.ts'

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

  it('drops a leading byte-order mark and the \\r of CRLF line ends, gzipped or not', async () => {
    const text = '\ufeff{"_id": "a", "text": "x"}\r\n{"_id": "b", "text": "y"}\r\n'
    for (const [name, bytes] of [['bom.jsonl', Buffer.from(text)], ['bom.jsonl.gz', gzipSync(text)]] as const) {
      writeFileSync(join(dir, name), bytes)
      const { docs } = await readCorpus(join(dir, name))
      expect(docs.map((d) => [d.id, d.text])).toEqual([['a', 'x'], ['b', 'y']])
    }
  })

  it('refuses a line that is not valid UTF-8, with its number, instead of reading U+FFFD', async () => {
    const path = join(dir, 'latin1.jsonl')
    const broken = Buffer.concat([Buffer.from('{"_id": "b", "text": "caf'), Buffer.from([0xe9]), Buffer.from('"}\n')])
    writeFileSync(path, Buffer.concat([Buffer.from('{"_id": "a", "text": "ok \u00e9"}\n'), broken, Buffer.from('{"_id": "c", "text": "z"}\n')]))
    await expect(readCorpus(path)).rejects.toThrow(/latin1\.jsonl:2: not valid UTF-8/)
    const bad: number[] = []
    const { docs } = await readCorpus(path, { skipBad: true, onBadLine: (n) => bad.push(n) })
    expect(docs.map((d) => d.text)).toEqual(['ok é', 'z'])
    expect(bad).toEqual([2])
    // The benchmark samples its queries through the same reader: the broken line is left out.
    const texts: string[] = []
    for await (const line of documentLines(path)) texts.push(line)
    expect(texts.map((t) => JSON.parse(t)._id)).toEqual(['a', 'c'])
  })

  it('decodes a multi-byte character split across read chunks', async () => {
    // createReadStream reads 64 KiB at a time: a long line puts "é" across a chunk boundary.
    const long = 'é'.repeat(70_000)
    const { docs } = await readCorpus(file('long.jsonl', [JSON.stringify({ _id: 'a', text: long }), '{"_id": "b", "text": "y"}']))
    expect(docs.map((d) => d.text.length)).toEqual([70_000, 1])
  })

  it('takes a numeric _id only while JSON keeps every digit (a safe integer), and says to quote it', async () => {
    // 9007199254740993 reads as 9007199254740992: the two documents would share an id.
    const path = file('big-ids.jsonl', ['{"_id": 9007199254740992, "text": "x"}', '{"_id": 9007199254740993, "text": "y"}'])
    await expect(readCorpus(path)).rejects.toThrow(/big-ids\.jsonl:1: _id: .*quote it as a string/)
    const { docs } = await readCorpus(file('safe-ids.jsonl', ['{"_id": 9007199254740991, "text": "x"}', '{"_id": "9007199254740993", "text": "y"}']))
    expect(docs.map((d) => d.id)).toEqual(['9007199254740991', '9007199254740993'])
    await expect(readCorpus(file('fraction-id.jsonl', ['{"_id": 1.5, "text": "x"}']))).rejects.toThrow(/fraction-id\.jsonl:1: _id: a numeric _id must be a whole number/)
  })

  it("refuses a vector value beyond float32's range, with its line number", async () => {
    // 1e39 is a finite double but Infinity as float32: the index would become NaN.
    const path = file('huge-vector.jsonl', ['{"_id": "a", "text": "x", "vector": [1, 2]}', '{"_id": "b", "text": "y", "vector": [1e39, 2]}'])
    await expect(readCorpus(path)).rejects.toThrow(/huge-vector\.jsonl:2: vector\.0: .*float32's range/)
    const { docs } = await readCorpus(file('max-vector.jsonl', ['{"_id": "a", "text": "x", "vector": [3.4e38, -3.4e38]}']))
    expect(Array.from(docs[0].vector!).every(Number.isFinite)).toBe(true)
  })

  describe('vector sizes', () => {
    // 60 lines: line 1 has 15 numbers, the other 59 have 16.
    const vectors = (size: number) => Array.from({ length: size }, (_, j) => j + 1)
    const lines = Array.from({ length: 60 }, (_, i) => JSON.stringify({ _id: `d${i + 1}`, text: `t${i}`, vector: vectors(i === 0 ? 15 : 16) }))

    it('without skipBad, stop at the first line unlike the first document, naming both sizes and its line', async () => {
      await expect(readCorpus(file('first-short.jsonl', lines))).rejects.toThrow(/first-short\.jsonl:2: a "vector" of 16 numbers, but a "vector" of 15 numbers in the first document \(line 1\)/)
    })

    it('with skipBad, keep the most common size and skip the others with their line numbers', async () => {
      const bad: [number, string][] = []
      const { docs, skipped } = await readCorpus(file('first-short.jsonl', lines), { skipBad: true, onBadLine: (n, reason) => bad.push([n, reason]) })
      expect(docs.length).toBe(59)
      expect(docs[0].id).toBe('d2')
      expect(skipped).toBe(1)
      expect(bad).toEqual([[1, expect.stringMatching(/^a "vector" of 15 numbers, but a "vector" of 16 numbers in most documents \(59 of 60, the first at line 2\)/)]])
    })

    it('with skipBad, break a tie by the earliest size, then check duplicates in line order', async () => {
      const tied = [
        '{"_id": "a", "text": "x"}',
        'not json',
        '{"_id": "b", "text": "y", "vector": [1, 2]}',
        '{"_id": "c", "text": "z"}',
        '{"_id": "a", "text": "dup", "vector": [3, 4]}',
        '{"_id": "b", "text": "w"}',
        '{"_id": "d", "text": "v", "vector": [5, 6]}',
      ]
      const bad: number[] = []
      const { docs } = await readCorpus(file('tied.jsonl', tied), { skipBad: true, onBadLine: (n) => bad.push(n) })
      // Three with no vector (lines 1, 4, 6), three with two numbers: no vector came first.
      expect(docs.map((d) => d.id)).toEqual(['a', 'c', 'b'])
      expect(bad).toEqual([2, 3, 5, 7])
    })

    it('a duplicate _id names the line of the first', async () => {
      const dup = file('dup.jsonl', ['{"_id": "a", "text": "x"}', '{"_id": "a", "text": "y"}'])
      await expect(readCorpus(dup)).rejects.toThrow(/dup\.jsonl:2: duplicate _id "a" \(first at line 1\)/)
    })
  })
})
