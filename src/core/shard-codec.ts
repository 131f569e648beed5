// One leaf cluster = two objects. The shard holds what scoring reads: int8
// vectors (one binary blob) and BM25 postings; the display object holds the
// documents' ids, titles and snippets, which only the leaves of results need
// (npm 186K: 36% of a leaf's bytes), so a query reads them for those alone.

import { Packr } from 'msgpackr'
import type { LeafCentroids } from './centroids.ts'
import type { LexiconPart, ShardPostings } from './lexical.ts'

// 2: the display fields moved to their own object (ShardDisplay); posting rows and
//    per-term posting counts in as few bytes as their largest value needs.
export const SHARD_FORMAT = 2
export const DISPLAY_FORMAT = 1

/** What the fine step scores of a leaf: one row per document. */
export interface Shard {
  cid: number[]
  dims: number
  /** rows × dims int8 values, row-major. */
  vectors: Int8Array
  /** One dequantization scale per vector. */
  scales: Float32Array
  /** BM25 postings of the shard's documents. */
  postings: ShardPostings
}

/** A leaf's documents as results show them, by row (the rows of its Shard). */
export interface ShardDisplay {
  cid: number[]
  ids: string[]
  titles: string[]
  snippets: string[]
}

/** Documents of a shard. */
export const shardRows = (shard: Shard) => shard.scales.length

/** What a decoded shard holds in a JS heap: its typed arrays. The Worker's shard cache budgets this, not the encoded size. */
export function decodedShardBytes(shard: Shard): number {
  return shard.vectors.byteLength + shard.scales.byteLength + postingsBytes(shard.postings)
}

/**
 * What a decoded display object holds in a JS heap, roughly: its strings at two
 * bytes a code unit plus a header (V8 stores ASCII in one, so this errs high).
 */
export function decodedDisplayBytes(display: ShardDisplay): number {
  const strings = (list: string[]) => list.reduce((sum, s) => sum + 2 * s.length + 24, 0)
  return strings(display.ids) + strings(display.titles) + strings(display.snippets)
}

function postingsBytes(p: ShardPostings): number {
  return p.terms.byteLength + p.idf.byteLength + p.postingStart.byteLength + p.rows.byteLength + p.weights.byteLength
}

// Record extensions compile decoders with `new Function`, which deployed Workers refuse.
const packr = new Packr({ useRecords: false, moreTypes: false })

/** msgpack of `value` (a Buffer in Node), as a plain byte view. */
function pack(value: Record<string, unknown>): Uint8Array {
  const packed = packr.pack(value)
  return new Uint8Array(packed.buffer, packed.byteOffset, packed.byteLength)
}

export class ShardDecodeError extends Error {
  override name = 'ShardDecodeError'
}

/** int8 vectors travel as one binary blob: their bytes as they are. */
const bytesOf = (values: Int8Array) => new Uint8Array(values.buffer, values.byteOffset, values.byteLength)

/** Typed arrays travel as little-endian bytes, whatever the machine. */
function littleEndian(values: Float32Array | Uint32Array): Uint8Array {
  const bytes = new Uint8Array(values.length * 4)
  const view = new DataView(bytes.buffer)
  if (values instanceof Float32Array) values.forEach((v, i) => view.setFloat32(i * 4, v, true))
  else values.forEach((v, i) => view.setUint32(i * 4, v, true))
  return bytes
}

function readFloat32(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.byteLength / 4)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true)
  return out
}

function readUint32(bytes: Uint8Array): Uint32Array {
  const out = new Uint32Array(bytes.byteLength / 4)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  for (let i = 0; i < out.length; i++) out[i] = view.getUint32(i * 4, true)
  return out
}

export function encodeShard(shard: Shard): Uint8Array {
  checkShape(shard)
  const { postings } = shard
  return pack({
    format: SHARD_FORMAT,
    cid: shard.cid,
    dims: shard.dims,
    vectors: bytesOf(shard.vectors),
    scales: littleEndian(shard.scales),
    terms: littleEndian(postings.terms),
    idf: littleEndian(postings.idf),
    // Rows of a leaf of ≤ 256 documents fit a byte (npm 186K: 11% of the shard bytes as 32-bit words).
    postingCounts: narrowUints(postings.postingStart.subarray(1).map((end, i) => end - postings.postingStart[i])),
    postingRows: narrowUints(postings.rows),
    postingWeights: postings.weights,
  })
}

/** Unsigned integers in the fewest bytes each (1, 2 or 4) that hold the largest, little-endian, after a width byte. */
function narrowUints(values: Uint32Array): Uint8Array {
  let max = 0
  for (const v of values) if (v > max) max = v
  const width = max < 0x100 ? 1 : max < 0x10000 ? 2 : 4
  const bytes = new Uint8Array(1 + values.length * width)
  bytes[0] = width
  const view = new DataView(bytes.buffer, 1)
  values.forEach((v, i) => (width === 1 ? view.setUint8(i, v) : width === 2 ? view.setUint16(i * 2, v, true) : view.setUint32(i * 4, v, true)))
  return bytes
}

function readNarrowUints(bytes: Uint8Array, field: string): Uint32Array {
  const width = bytes[0]
  if ((width !== 1 && width !== 2 && width !== 4) || (bytes.byteLength - 1) % width !== 0) throw new ShardDecodeError(`shard ${field} is truncated or of an unknown width`)
  const out = new Uint32Array((bytes.byteLength - 1) / width)
  const view = new DataView(bytes.buffer, bytes.byteOffset + 1, bytes.byteLength - 1)
  for (let i = 0; i < out.length; i++) out[i] = width === 1 ? view.getUint8(i) : width === 2 ? view.getUint16(i * 2, true) : view.getUint32(i * 4, true)
  return out
}

/** Decodes and validates; throws ShardDecodeError on anything malformed or truncated. */
export function decodeShard(bytes: Uint8Array): Shard {
  const r = unpackMap(bytes, 'shard')
  if (r.format !== SHARD_FORMAT) throw new ShardDecodeError(`unsupported shard format ${String(r.format)}`)
  const dims = r.dims
  if (!Number.isInteger(dims) || (dims as number) <= 0) throw new ShardDecodeError('shard dims must be a positive integer')
  const cid = clusterIdOf(r.cid, 'shard')
  checkBinary(r, 'shard', ['vectors', 'postingWeights', 'postingCounts', 'postingRows'], ['scales', 'terms', 'idf'])
  // Copies, not views into `bytes`: a view would keep the whole encoded shard alive
  // as long as the shard is cached.
  // (new Uint8Array(typed array) copies; Node's Buffer#slice would not.)
  const vectors = new Int8Array(new Uint8Array(r.vectors as Uint8Array).buffer)
  const scales = readFloat32(r.scales as Uint8Array)
  const counts = readNarrowUints(r.postingCounts as Uint8Array, 'postingCounts')
  const postingStart = new Uint32Array(counts.length + 1)
  for (let i = 0; i < counts.length; i++) postingStart[i + 1] = postingStart[i] + counts[i]
  const postings: ShardPostings = {
    terms: readUint32(r.terms as Uint8Array),
    idf: readFloat32(r.idf as Uint8Array),
    postingStart,
    rows: readNarrowUints(r.postingRows as Uint8Array, 'postingRows'),
    weights: new Uint8Array(r.postingWeights as Uint8Array),
  }
  const shard: Shard = { cid, dims: dims as number, vectors, scales, postings }
  return validated(shard, checkShape)
}

export function encodeShardDisplay(display: ShardDisplay): Uint8Array {
  checkDisplay(display)
  return pack({ format: DISPLAY_FORMAT, cid: display.cid, ids: display.ids, titles: display.titles, snippets: display.snippets })
}

/** Decodes and validates; throws ShardDecodeError on anything malformed or truncated. */
export function decodeShardDisplay(bytes: Uint8Array): ShardDisplay {
  const r = unpackMap(bytes, 'display object')
  if (r.format !== DISPLAY_FORMAT) throw new ShardDecodeError(`unsupported display object format ${String(r.format)}`)
  const display: ShardDisplay = { cid: clusterIdOf(r.cid, 'display object'), ids: stringList(r.ids, 'ids'), titles: stringList(r.titles, 'titles'), snippets: stringList(r.snippets, 'snippets') }
  return validated(display, checkDisplay)
}

function checkDisplay(display: ShardDisplay): void {
  const n = display.ids.length
  if (display.titles.length !== n || display.snippets.length !== n) throw new Error('display object: ids, titles and snippets differ in length')
}

function clusterIdOf(value: unknown, what: string): number[] {
  if (!Array.isArray(value) || !value.every((t) => Number.isInteger(t) && t >= 0)) throw new ShardDecodeError(`${what} cid must be a list of tokens`)
  return value
}

function stringList(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new ShardDecodeError(`display object ${field} must be a list of strings`)
  return value
}

/** 2: each leaf's part centroids too. */
export const CENTROIDS_FORMAT = 2

export function encodeLeafCentroids(centroids: LeafCentroids): Uint8Array {
  checkCentroids(centroids)
  const { parts } = centroids
  return pack({
    format: CENTROIDS_FORMAT,
    dims: centroids.dims,
    nodes: littleEndian(centroids.nodes),
    vectors: bytesOf(centroids.vectors),
    scales: littleEndian(centroids.scales),
    partStart: littleEndian(parts.start),
    partVectors: bytesOf(parts.vectors),
    partScales: littleEndian(parts.scales),
  })
}

/** Decodes and validates; throws ShardDecodeError on anything malformed or truncated. */
export function decodeLeafCentroids(bytes: Uint8Array): LeafCentroids {
  const r = unpackMap(bytes, 'leaf centroids')
  if (r.format !== CENTROIDS_FORMAT) throw new ShardDecodeError(`unsupported leaf centroids format ${String(r.format)}`)
  if (!Number.isInteger(r.dims) || (r.dims as number) <= 0) throw new ShardDecodeError('leaf centroids dims must be a positive integer')
  checkBinary(r, 'leaf centroids', ['vectors', 'partVectors'], ['nodes', 'scales', 'partStart', 'partScales'])
  const centroids: LeafCentroids = {
    dims: r.dims as number,
    nodes: readUint32(r.nodes as Uint8Array),
    vectors: new Int8Array(new Uint8Array(r.vectors as Uint8Array).buffer),
    scales: readFloat32(r.scales as Uint8Array),
    parts: {
      start: readUint32(r.partStart as Uint8Array),
      vectors: new Int8Array(new Uint8Array(r.partVectors as Uint8Array).buffer),
      scales: readFloat32(r.partScales as Uint8Array),
    },
  }
  return validated(centroids, checkCentroids)
}

function checkCentroids(c: LeafCentroids): void {
  const n = c.nodes.length
  if (c.scales.length !== n || c.vectors.length !== n * c.dims) throw new Error(`leaf centroids: expected ${n} scales and ${n}×${c.dims} values`)
  for (let i = 0; i < n; i++) {
    if (i > 0 && c.nodes[i] <= c.nodes[i - 1]) throw new Error('leaf centroids: nodes must be ascending and unique')
    if (!Number.isFinite(c.scales[i])) throw new Error('leaf centroids: scales must be finite')
  }
  const { start, vectors, scales } = c.parts
  if (start.length !== n + 1 || start[0] !== 0) throw new Error(`leaf centroids: expected ${n + 1} part starts from 0`)
  for (let i = 0; i < n; i++) if (!(start[i + 1] > start[i])) throw new Error('leaf centroids: each leaf needs at least one part centroid, in order')
  const rows = start[n]
  if (scales.length !== rows || vectors.length !== rows * c.dims) throw new Error(`leaf centroids: expected ${rows} part scales and ${rows}×${c.dims} part values`)
  // Unit rows: an int8 row's scale is at most 1/127 (a zero row's is 1); a larger one would let a dot product overflow.
  if (!scales.every((x) => x >= 0 && x <= 1)) throw new Error('leaf centroids: part scales must be within [0, 1]')
}

/** 2: each term's postings in (leaf, row) order (1 kept the top ones by weight). */
export const LEXICON_PART_FORMAT = 2

/** What a decoded lexicon part holds in the heap (all typed arrays). */
export function decodedLexiconPartBytes(part: LexiconPart): number {
  return postingsBytes(part) + part.leaves.byteLength
}

export function encodeLexiconPart(part: LexiconPart): Uint8Array {
  checkLexiconPart(part)
  return pack({
    format: LEXICON_PART_FORMAT,
    terms: littleEndian(part.terms),
    idf: littleEndian(part.idf),
    postingStart: littleEndian(part.postingStart),
    postingLeaves: littleEndian(part.leaves),
    postingRows: littleEndian(part.rows),
    postingWeights: part.weights,
  })
}

/** Decodes and validates; throws ShardDecodeError on anything malformed or truncated. */
export function decodeLexiconPart(bytes: Uint8Array): LexiconPart {
  const r = unpackMap(bytes, 'lexicon part')
  if (r.format !== LEXICON_PART_FORMAT) throw new ShardDecodeError(`unsupported lexicon part format ${String(r.format)}`)
  checkBinary(r, 'lexicon part', ['postingWeights'], ['terms', 'idf', 'postingStart', 'postingLeaves', 'postingRows'])
  const part: LexiconPart = {
    terms: readUint32(r.terms as Uint8Array),
    idf: readFloat32(r.idf as Uint8Array),
    postingStart: readUint32(r.postingStart as Uint8Array),
    leaves: readUint32(r.postingLeaves as Uint8Array),
    rows: readUint32(r.postingRows as Uint8Array),
    weights: new Uint8Array(r.postingWeights as Uint8Array),
  }
  return validated(part, checkLexiconPart)
}

// A leaf beyond any tree this build makes is corrupt (LeafDocuments ignores postings of unknown leaves anyway); idf must not flip the normalizer's sign.
const MAX_LEXICON_LEAF = 2 ** 21

function checkLexiconPart(part: LexiconPart): void {
  checkPostings(part, Infinity, 'lexicon part')
  if (part.leaves.length !== part.rows.length) throw new Error('lexicon part: one leaf per posting expected')
  for (let i = 0; i < part.leaves.length; i++) if (part.leaves[i] >= MAX_LEXICON_LEAF) throw new Error('lexicon part: leaf out of range')
  // Lexical routing merges terms' postings leaf by leaf and marks a row summed by a sum above 0.
  for (let i = 0; i < part.weights.length; i++) if (part.weights[i] === 0) throw new Error('lexicon part: posting weights must be at least 1')
  for (let t = 0; t < part.terms.length; t++) {
    for (let p = part.postingStart[t] + 1; p < part.postingStart[t + 1]; p++) {
      const leaf = part.leaves[p]
      const previous = part.leaves[p - 1]
      if (leaf < previous || (leaf === previous && part.rows[p] <= part.rows[p - 1])) throw new Error('lexicon part: a term\'s postings must be in (leaf, row) order, each once')
    }
  }
}

/** `bytewise` fields must be binary; `wordwise` ones binary and whole 32-bit values. */
function checkBinary(r: Record<string, unknown>, what: string, bytewise: readonly string[], wordwise: readonly string[]): void {
  for (const field of [...bytewise, ...wordwise]) if (!(r[field] instanceof Uint8Array)) throw new ShardDecodeError(`${what} ${field} must be binary`)
  for (const field of wordwise) if ((r[field] as Uint8Array).byteLength % 4 !== 0) throw new ShardDecodeError(`${what} ${field} is truncated`)
}

/** `value` once `check` accepts it: a complaint becomes a ShardDecodeError. */
function validated<T>(value: T, check: (value: T) => void): T {
  try {
    check(value)
  } catch (error) {
    throw new ShardDecodeError((error as Error).message)
  }
  return value
}

function unpackMap(bytes: Uint8Array, what: string): Record<string, unknown> {
  let raw: unknown
  try {
    raw = packr.unpack(bytes)
  } catch (error) {
    throw new ShardDecodeError(`${what} is not valid msgpack: ${(error as Error).message}`)
  }
  if (typeof raw !== 'object' || raw === null) throw new ShardDecodeError(`${what} is not a map`)
  return raw as Record<string, unknown>
}

function checkShape(shard: Shard): void {
  const n = shard.scales.length
  if (shard.vectors.length !== n * shard.dims) throw new Error(`shard vectors: expected ${n}×${shard.dims} values, got ${shard.vectors.length}`)
  for (let i = 0; i < n; i++) if (!(Number.isFinite(shard.scales[i]) && shard.scales[i] >= 0)) throw new Error('shard scales must be finite and not negative')
  checkPostings(shard.postings, n, 'shard postings')
}

// Postings index rows and each other: out-of-range values would read past arrays while scoring.
// (A lexicon part's rows are checked against their leaf where they are used: `rows` = ∞.)
function checkPostings(p: ShardPostings, rows: number, what: string): void {
  const terms = p.terms.length
  if (p.idf.length !== terms || p.postingStart.length !== terms + 1) throw new Error(`${what}: term tables differ in length`)
  if (p.postingStart[0] !== 0 || p.postingStart[terms] !== p.rows.length || p.rows.length !== p.weights.length) throw new Error(`${what}: offsets do not match the postings`)
  for (let i = 0; i < terms; i++) {
    if (p.postingStart[i] > p.postingStart[i + 1]) throw new Error(`${what}: offsets must not decrease`)
    if (i > 0 && p.terms[i] <= p.terms[i - 1]) throw new Error(`${what}: terms must be sorted and unique`)
    // BM25 is normalized by the lexicon's idf and summed with the shard's: a negative one would leave [0, 1].
    if (!(Number.isFinite(p.idf[i]) && p.idf[i] >= 0)) throw new Error(`${what}: idf must be finite and not negative`)
  }
  for (let i = 0; i < p.rows.length; i++) if (p.rows[i] >= rows) throw new Error(`${what}: row out of range`)
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes)
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('')
}
