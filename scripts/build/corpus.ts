// Reads a corpus: JSON lines (optionally gzipped), one document per line.
// Every bad line is reported with its number; the build stops unless told to skip.

import { createReadStream, existsSync, statSync } from 'node:fs'
import { createGunzip } from 'node:zlib'
import { z } from 'zod'
import { strictUtf8Decoder, withoutBom } from '../text-file.ts'

export interface CorpusDoc {
  id: string
  title: string
  text: string
  /** The document's own embedding, when the corpus brings one ("vector" field). */
  vector?: Float32Array
}

/** A document's or query's `_id`, as a string: a non-empty string, or a number JSON reads exactly. */
export const DocumentId = z
  .union(
    [
      z.string().min(1, 'must not be empty'),
      // Past 2^53 a JSON number has already lost digits (9007199254740993 reads as …992): two ids could become one.
      z.number().refine(Number.isSafeInteger, 'a numeric _id must be a whole number up to 2^53 − 1 (JSON loses digits past that); quote it as a string'),
    ],
    { error: 'expected a non-empty string or a whole number' },
  )
  .transform(String)

const DocLine = z.object({
  _id: DocumentId,
  title: z.string().optional().default(''),
  text: z.string(),
  // Within float32's range: the vectors are stored as float32, where 1e39 becomes Infinity and the whole index NaN.
  vector: z.array(z.number().refine((x) => Number.isFinite(Math.fround(x)), "must be a finite number within float32's range (±3.4e38)")).min(1).optional(),
})

export class CorpusError extends Error {
  override name = 'CorpusError'
}

export interface ReadCorpusOptions {
  skipBad?: boolean
  /** Each skipped line, in line order (with skipBad). */
  onBadLine?: (lineNumber: number, reason: string) => void
}

export interface CorpusReadResult {
  docs: CorpusDoc[]
  skipped: number
  /** Documents with neither title nor text. */
  empty: number
}

/** A document and the line it came from. */
interface NumberedDoc {
  doc: CorpusDoc
  line: number
}

/** The vector size every document must have (0: none), and which document(s) set it, for messages. */
interface ExpectedSize {
  size: number
  setBy: string
}

/**
 * Vectors are all-or-nothing and of one size: they become the index's vector space.
 * Without skipBad the first document sets the size, and the read stops at the first bad
 * line in file order. With it, the size most documents share (ties: the earliest) is kept,
 * so one bad first line does not cost every good one; that size is known only once the
 * whole file is read, so documents are checked (size, then duplicate _id) after reading.
 */
export async function readCorpus(path: string, options: ReadCorpusOptions = {}): Promise<CorpusReadResult> {
  const skipped: { line: number; reason: string }[] = []
  const reject = (line: number, reason: string) => {
    if (!options.skipBad) throw new CorpusError(`${path}:${line}: ${reason} (use --skip-bad to skip bad lines)`)
    skipped.push({ line, reason })
  }
  const kept = keptDocuments(reject)
  const parsed: NumberedDoc[] = []
  let expected: ExpectedSize | undefined
  let lineNumber = 0
  try {
    for await (const line of corpusLines(path)) {
      lineNumber = line.number
      if (line.text === undefined) {
        reject(line.number, line.problem)
        continue
      }
      if (line.text.trim() === '') continue
      const doc = parseLine(line.text)
      if (typeof doc === 'string') reject(line.number, doc)
      else if (options.skipBad) parsed.push({ doc, line: line.number })
      else kept.check({ doc, line: line.number }, (expected ??= firstDocumentSize({ doc, line: line.number })))
    }
  } catch (error) {
    if (error instanceof CorpusError) throw error
    throw new CorpusError(`${path}: cannot read corpus after line ${lineNumber}: ${(error as Error).message}`)
  }
  const mostCommon = mostCommonSize(parsed)
  if (mostCommon) for (const numbered of parsed) kept.check(numbered, mostCommon)
  skipped.sort((a, b) => a.line - b.line).forEach(({ line, reason }) => options.onBadLine?.(line, reason))
  if (kept.docs.length === 0) throw new CorpusError(`${path}: no documents`)
  return { docs: kept.docs, skipped: skipped.length, empty: kept.empty }
}

/** The documents that pass the checks, in the order checked; the others go to `reject`. */
function keptDocuments(reject: (line: number, reason: string) => void) {
  const docs: CorpusDoc[] = []
  const lineOf = new Map<string, number>()
  let empty = 0
  return {
    docs,
    get empty() {
      return empty
    },
    check({ doc, line }: NumberedDoc, expected: ExpectedSize) {
      const first = lineOf.get(doc.id)
      const problem = vectorSizeProblem(doc, expected) ?? (first !== undefined ? `duplicate _id ${JSON.stringify(doc.id)} (first at line ${first})` : undefined)
      if (problem) return reject(line, problem)
      // An empty document is kept (no data is dropped silently) but counted, since it can never match.
      if (doc.title.trim() === '' && doc.text.trim() === '') empty++
      lineOf.set(doc.id, line)
      docs.push(doc)
    },
  }
}

const vectorSize = (doc: CorpusDoc) => doc.vector?.length ?? 0
const describeSize = (size: number) => (size === 0 ? 'no "vector"' : `a "vector" of ${size} number${size === 1 ? '' : 's'}`)

/** Why a document's vector does not fit the expected size, naming both sizes; undefined when it fits. */
function vectorSizeProblem(doc: CorpusDoc, expected: ExpectedSize): string | undefined {
  const size = vectorSize(doc)
  if (size === expected.size) return undefined
  return `${describeSize(size)}, but ${describeSize(expected.size)} in ${expected.setBy} (vectors are on every line or none, all of one size)`
}

function firstDocumentSize({ doc, line }: NumberedDoc): ExpectedSize {
  return { size: vectorSize(doc), setBy: `the first document (line ${line})` }
}

/** The vector size most documents have; a tie goes to the size seen first. Undefined without documents. */
function mostCommonSize(docs: NumberedDoc[]): ExpectedSize | undefined {
  const counts = new Map<number, { count: number; firstLine: number }>()
  for (const { doc, line } of docs) {
    const size = vectorSize(doc)
    const seen = counts.get(size)
    if (seen) seen.count++
    else counts.set(size, { count: 1, firstLine: line })
  }
  // Maps iterate in insertion order, so on equal counts the earlier size stays.
  let best: [number, { count: number; firstLine: number }] | undefined
  for (const entry of counts) if (!best || entry[1].count > best[1].count) best = entry
  if (!best) return undefined
  const [size, { count, firstLine }] = best
  return { size, setBy: `most documents (${count} of ${docs.length}, the first at line ${firstLine})` }
}

/** One line of a corpus file (1-based number): its text, or why it has none. */
export type CorpusLine = { number: number; text: string } | { number: number; text?: undefined; problem: string }

/**
 * The lines of a corpus file, gunzipped when it ends in .gz: the one reader of corpus lines
 * (the build's and the benchmark's). Each line is decoded on its own as strict UTF-8, so a
 * broken byte fails its own line (readline would turn it into U+FFFD silently); a leading
 * byte-order mark is dropped, and so is the \r of a CRLF line end.
 */
export async function* corpusLines(path: string): AsyncGenerator<CorpusLine> {
  if (!existsSync(path) || !statSync(path).isFile()) throw new CorpusError(`corpus not found: ${path}`)
  const raw = createReadStream(path)
  const input = path.endsWith('.gz') ? raw.pipe(createGunzip()) : raw
  const decoder = strictUtf8Decoder()
  let number = 0
  for await (let bytes of byteLines(input)) {
    number++
    if (number === 1) bytes = withoutBom(bytes)
    if (bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, -1)
    yield decodeLine(decoder, bytes, number)
  }
}

function decodeLine(decoder: TextDecoder, bytes: Uint8Array, number: number): CorpusLine {
  try {
    return { number, text: decoder.decode(bytes) }
  } catch {
    return { number, problem: 'not valid UTF-8' }
  }
}

/** The bytes between \n's; a last line without one counts too. */
async function* byteLines(input: AsyncIterable<Buffer>): AsyncGenerator<Uint8Array> {
  let pending: Buffer[] = []
  for await (const chunk of input) {
    let start = 0
    for (let end = chunk.indexOf(0x0a); end !== -1; end = chunk.indexOf(0x0a, start)) {
      const piece = chunk.subarray(start, end)
      yield pending.length ? Buffer.concat([...pending, piece]) : piece
      pending = []
      start = end + 1
    }
    if (start < chunk.length) pending.push(chunk.subarray(start))
  }
  if (pending.length) yield Buffer.concat(pending)
}

/** A document, or the reason the line is not one. */
function parseLine(line: string): CorpusDoc | string {
  let json: unknown
  try {
    json = JSON.parse(line)
  } catch {
    return 'not valid JSON'
  }
  const result = DocLine.safeParse(json)
  if (!result.success) {
    const issue = result.error.issues[0]
    return `${issue.path.join('.') || 'line'}: ${issue.message}`
  }
  const { _id: id, title, text, vector } = result.data
  return vector ? { id, title, text, vector: Float32Array.from(vector) } : { id, title, text }
}
