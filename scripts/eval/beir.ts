// A BEIR-layout folder: corpus.jsonl[.gz] (`_id`, `title`, `text`), queries.jsonl
// (`_id`, `text`) and qrels.tsv (a header, then `query-id corpus-id score`, tab-separated).
// The corpus itself is read by the build's reader (scripts/build/corpus.ts).

import { existsSync, statSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import { DocumentId } from '../build/corpus.ts'
import { readTextFile } from '../text-file.ts'

export interface BeirQuery {
  id: string
  text: string
}

/** query id → (document id → grade). */
export type Qrels = Map<string, Map<string, number>>

export class BeirError extends Error {
  override name = 'BeirError'
}

export interface BeirPaths {
  dir: string
  /** Folder name, used as the dataset's name. */
  name: string
  corpus: string
  queries: string
  qrels: string
}

/** Finds the three files (or says which one is missing) without reading them. */
export function beirPaths(dir: string): BeirPaths {
  const root = resolve(dir)
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new BeirError(`--data ${dir}: not a folder`)
  const corpus = ['corpus.jsonl', 'corpus.jsonl.gz'].map((f) => join(root, f)).find((p) => existsSync(p))
  if (!corpus) throw new BeirError(`${root}: no corpus.jsonl (or corpus.jsonl.gz)`)
  const queries = join(root, 'queries.jsonl')
  if (!existsSync(queries)) throw new BeirError(`${root}: no queries.jsonl (an evaluation needs queries)`)
  const qrels = ['qrels.tsv', join('qrels', 'test.tsv')].map((f) => join(root, f)).find((p) => existsSync(p))
  if (!qrels) throw new BeirError(`${root}: no qrels.tsv (an evaluation needs judgments)`)
  return { dir: root, name: basename(root), corpus, queries, qrels }
}

export function parseQueries(text: string, source = 'queries.jsonl'): BeirQuery[] {
  const queries: BeirQuery[] = []
  const seen = new Set<string>()
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return
    let json: unknown
    try {
      json = JSON.parse(line)
    } catch {
      throw new BeirError(`${source}:${i + 1}: not valid JSON`)
    }
    const record = json as { _id?: unknown; text?: unknown }
    const parsedId = DocumentId.safeParse(record._id)
    if (!parsedId.success) throw new BeirError(`${source}:${i + 1}: _id: ${parsedId.error.issues[0].message}`)
    const id = parsedId.data
    if (typeof record.text !== 'string') throw new BeirError(`${source}:${i + 1}: text must be a string`)
    if (seen.has(id)) throw new BeirError(`${source}:${i + 1}: duplicate _id ${JSON.stringify(id)}`)
    seen.add(id)
    queries.push({ id, text: record.text })
  })
  return queries
}

/**
 * BEIR's `query-id corpus-id score` or TREC's `query-id iteration corpus-id grade`,
 * tab-separated (ids may then hold spaces) or space-separated; a first line whose
 * score is not a number is the header. A repeated pair keeps its highest grade.
 */
export function parseQrels(text: string, source = 'qrels.tsv'): Qrels {
  const qrels: Qrels = new Map()
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return
    const judgment = qrelsLine(line)
    if (!judgment) {
      if (i === 0) return // header
      throw new BeirError(`${source}:${i + 1}: expected "query-id<TAB>corpus-id<TAB>score" (BEIR, tab-separated) or "query-id 0 corpus-id grade" (TREC), or either with spaces between ids without spaces`)
    }
    let judged = qrels.get(judgment.qid)
    if (!judged) qrels.set(judgment.qid, (judged = new Map()))
    judged.set(judgment.did, Math.max(judgment.grade, judged.get(judgment.did) ?? -Infinity))
  })
  return qrels
}

/** One line's judgment, or undefined when it has neither form. */
function qrelsLine(line: string): { qid: string; did: string; grade: number } | undefined {
  // A line with tabs splits on tabs alone: a BEIR id may hold spaces ("doc 1"). A line
  // without tabs splits on whitespace: BEIR's three columns or TREC's four, ids without spaces.
  const text = line.trim()
  const fields = (text.includes('\t') ? text.split('\t') : text.split(/\s+/)).map((field) => field.trim())
  const [qid, did, grade] = fields.length === 4 ? [fields[0], fields[2], fields[3]] : fields.length === 3 ? fields : []
  if (!qid || !did || !grade || !Number.isFinite(Number(grade))) return undefined
  return { qid, did, grade: Number(grade) }
}

export interface EvalQueries {
  /** Queries with at least one relevant (grade > 0) judgment, in queries.jsonl order. */
  judged: BeirQuery[]
  qrels: Qrels
  /** Queries in queries.jsonl without a relevant judgment (not evaluated). */
  unjudged: number
  /** Query ids in qrels that queries.jsonl lacks. */
  orphanQrels: number
}

export function loadQueriesAndQrels(paths: BeirPaths): EvalQueries {
  const queries = parseQueries(readTextFile(paths.queries), paths.queries)
  const qrels = parseQrels(readTextFile(paths.qrels), paths.qrels)
  const hasRelevant = (id: string) => [...(qrels.get(id)?.values() ?? [])].some((g) => g > 0)
  const judged = queries.filter((q) => hasRelevant(q.id))
  const known = new Set(queries.map((q) => q.id))
  const orphanQrels = [...qrels.keys()].filter((id) => !known.has(id)).length
  if (judged.length === 0) throw new BeirError(`${paths.qrels}: no query of ${paths.queries} has a relevant judgment`)
  return { judged, qrels, unjudged: queries.length - judged.length, orphanQrels }
}
