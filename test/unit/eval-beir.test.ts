// The BEIR folder loader: queries, graded qrels (header, TREC form), judged-query selection and errors.
import { afterAll, describe, expect, it } from 'vitest'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BeirError, beirPaths, loadQueriesAndQrels, parseQrels, parseQueries } from '../../scripts/eval/beir.ts'

const root = mkdtempSync(join(tmpdir(), 'gdr-beir-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

function folder(name: string, files: Record<string, string>): string {
  const dir = join(root, name)
  mkdirSync(dir, { recursive: true })
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text)
  return dir
}

describe('BEIR loader', () => {
  it('parses queries.jsonl: numeric ids as strings, blank lines skipped', () => {
    expect(parseQueries('{"_id": "q1", "text": "wing flow"}\n\n{"_id": 2, "text": "heat"}\n')).toEqual([
      { id: 'q1', text: 'wing flow' },
      { id: '2', text: 'heat' },
    ])
  })

  it('rejects bad query lines with their number', () => {
    expect(() => parseQueries('{"_id": "a", "text": "x"}\nnope', 'q.jsonl')).toThrow(/q\.jsonl:2: not valid JSON/)
    expect(() => parseQueries('{"_id": "a"}', 'q.jsonl')).toThrow(/q\.jsonl:1: text/)
    // The corpus's rule for a numeric _id (scripts/build/corpus.ts): exact, or quoted.
    expect(() => parseQueries('{"_id": 1, "text": "x"}\n{"_id": 9007199254740993, "text": "y"}', 'q.jsonl')).toThrow(/q\.jsonl:2: _id: .*quote it as a string/)
    expect(() => parseQueries('{"text": "x"}', 'q.jsonl')).toThrow(/q\.jsonl:1: _id: expected a non-empty string or a whole number/)
    expect(() => parseQueries('{"_id": "a", "text": "x"}\n{"_id": "a", "text": "y"}')).toThrow(/duplicate/)
  })

  it('parses qrels with a header, BEIR\'s tab-separated form, TREC\'s four columns (tabs or spaces); a repeated pair keeps its best grade', () => {
    const qrels = parseQrels('query-id\tcorpus-id\tscore\nq1\td1\t2\nq1 0 d2 0\nq2\t0\td3\t1\nq1\td1\t1\n')
    expect(qrels.get('q1')).toEqual(new Map([['d1', 2], ['d2', 0]]))
    expect(qrels.get('q2')).toEqual(new Map([['d3', 1]]))
    expect(() => parseQrels('h\th\th\nq1\td1\tlots', 'r.tsv')).toThrow(/r\.tsv:2/)
  })

  it('splits a line with tabs on tabs alone: ids may hold spaces; other lines on spaces; anything else is an error naming the line', () => {
    expect(parseQrels('query-id\tcorpus-id\tscore\nq 1\tdoc 1\t1\n')).toEqual(new Map([['q 1', new Map([['doc 1', 1]])]]))
    expect(parseQrels('q1\t0\tdoc 1\t2')).toEqual(new Map([['q1', new Map([['doc 1', 2]])]]))
    // Stray spaces around fields and a trailing tab are not part of an id; BEIR's columns may be space-separated.
    expect(parseQrels(' q1\td1 \t1\t\nq2 d2 1')).toEqual(new Map([['q1', new Map([['d1', 1]])], ['q2', new Map([['d2', 1]])]]))
    for (const bad of ['q1\t\t1', 'q1\td1\t ', 'q1\td1', 'q1\td1\t1\t2\t3', 'q1 d1']) {
      expect(() => parseQrels(`query-id\tcorpus-id\tscore\n${bad}`, 'r.tsv'), bad).toThrow(/r\.tsv:2: expected .*tab-separated/)
    }
  })

  it('finds the files and evaluates only queries with a relevant judgment', () => {
    const dir = folder('tiny', {
      'corpus.jsonl': '{"_id": "d1", "text": "x"}\n',
      'queries.jsonl': ['{"_id": "q1", "text": "a"}', '{"_id": "q2", "text": "b"}', '{"_id": "q3", "text": "c"}'].join('\n'),
      'qrels.tsv': 'query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td1\t0\nq9\td1\t1\n',
    })
    const paths = beirPaths(dir)
    expect(paths.name).toBe('tiny')
    const loaded = loadQueriesAndQrels(paths)
    expect(loaded.judged.map((q) => q.id)).toEqual(['q1'])
    expect(loaded.unjudged).toBe(2)
    expect(loaded.orphanQrels).toBe(1)
  })

  it('says which file is missing', () => {
    expect(() => beirPaths(join(root, 'nope'))).toThrow(BeirError)
    expect(() => beirPaths(folder('noq', { 'corpus.jsonl': '' }))).toThrow(/no queries\.jsonl/)
    expect(() => beirPaths(folder('norels', { 'corpus.jsonl.gz': '', 'queries.jsonl': '' }))).toThrow(/no qrels\.tsv/)
    const unjudged = folder('unjudged', { 'corpus.jsonl': '', 'queries.jsonl': '{"_id": "q1", "text": "a"}', 'qrels.tsv': 'q\tc\ts\nq1\td1\t0\n' })
    expect(() => loadQueriesAndQrels(beirPaths(unjudged))).toThrow(/no query .* relevant judgment/)
  })
})
