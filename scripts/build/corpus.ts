// Reads a corpus: JSON lines (optionally gzipped), one document per line.
// Every bad line is reported with its number; the build stops unless told to skip.

import { createReadStream, existsSync, statSync } from 'node:fs'
import { createGunzip } from 'node:zlib'
import { createInterface } from 'node:readline'
import { z } from 'zod'

export interface CorpusDoc {
  id: string
  title: string
  text: string
  /** The document's own embedding, when the corpus brings one ("vector" field). */
  vector?: Float32Array
}

const DocLine = z.object({
  _id: z.union([z.string().min(1), z.number()]).transform(String),
  title: z.string().optional().default(''),
  text: z.string(),
  vector: z.array(z.number().finite()).min(1).optional(),
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
  if (!existsSync(path) || !statSync(path).isFile()) throw new CorpusError(`corpus not found: ${path}`)
  const raw = createReadStream(path)
  const input = path.endsWith('.gz') ? raw.pipe(createGunzip()) : raw
  const lines = createInterface({ input, crlfDelay: Infinity })
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
    for await (const line of lines) {
      lineNumber++
      if (line.trim() === '') continue
      const doc = parseLine(line)
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
