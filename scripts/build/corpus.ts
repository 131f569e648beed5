// Reads a corpus: JSON lines (optionally gzipped), one document per line.
// Every bad line is reported with its number; the build stops unless told to skip.

import { createReadStream, existsSync, statSync } from 'node:fs'
import { createGunzip } from 'node:zlib'
import { z } from 'zod'

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
  onBadLine?: (lineNumber: number, reason: string) => void
}

export interface CorpusReadResult {
  docs: CorpusDoc[]
  skipped: number
  /** Documents with neither title nor text. */
  empty: number
}

export async function readCorpus(path: string, options: ReadCorpusOptions = {}): Promise<CorpusReadResult> {
  const docs: CorpusDoc[] = []
  const seen = new Set<string>()
  let skipped = 0
  let empty = 0
  let lineNumber = 0
  const bad = (reason: string) => {
    if (!options.skipBad) throw new CorpusError(`${path}:${lineNumber}: ${reason} (use --skip-bad to skip bad lines)`)
    skipped++
    options.onBadLine?.(lineNumber, reason)
  }
  try {
    for await (const line of corpusLines(path)) {
      lineNumber = line.number
      if (line.text === undefined) {
        bad(line.problem)
        continue
      }
      if (line.text.trim() === '') continue
      const doc = parseLine(line.text)
      if (typeof doc === 'string') bad(doc)
      else if (seen.has(doc.id)) bad(`duplicate _id ${JSON.stringify(doc.id)}`)
      else if (docs.length > 0 && (doc.vector?.length ?? 0) !== (docs[0].vector?.length ?? 0)) {
        // Vectors are all-or-nothing and of one size: they become the index's vector space.
        bad(docs[0].vector ? `"vector" must have ${docs[0].vector.length} numbers, like the first document's` : 'the first document has no "vector", so none may have one')
      } else {
        // An empty document is kept (no data is dropped silently) but counted, since it can never match.
        if (doc.title.trim() === '' && doc.text.trim() === '') empty++
        seen.add(doc.id)
        docs.push(doc)
      }
    }
  } catch (error) {
    if (error instanceof CorpusError) throw error
    throw new CorpusError(`${path}: cannot read corpus after line ${lineNumber}: ${(error as Error).message}`)
  }
  if (docs.length === 0) throw new CorpusError(`${path}: no documents`)
  return { docs, skipped, empty }
}

/** One line of a corpus file (1-based number): its text, or why it has none. */
export type CorpusLine = { number: number; text: string } | { number: number; text?: undefined; problem: string }

const UTF8_BOM = [0xef, 0xbb, 0xbf]

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
  // ignoreBOM: the decoder would otherwise drop a BOM at the start of every line, not only the file's.
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
  let number = 0
  for await (let bytes of byteLines(input)) {
    number++
    if (number === 1 && UTF8_BOM.every((b, i) => bytes[i] === b)) bytes = bytes.subarray(UTF8_BOM.length)
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
