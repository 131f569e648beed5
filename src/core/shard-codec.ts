// One shard = one leaf cluster: its documents' ids, display fields and int8
// vectors, msgpack-encoded with the vectors as one binary blob.

import { Packr } from 'msgpackr'

export const SHARD_FORMAT = 1

export interface Shard {
  cid: number[]
  dims: number
  ids: string[]
  titles: string[]
  snippets: string[]
  /** ids.length × dims int8 values, row-major. */
  vectors: Int8Array
  /** One dequantization scale per vector. */
  scales: Float32Array
}

// Record extensions compile decoders with `new Function`, which deployed Workers refuse.
const packr = new Packr({ useRecords: false, moreTypes: false })

export class ShardDecodeError extends Error {
  override name = 'ShardDecodeError'
}

export function encodeShard(shard: Shard): Uint8Array {
  checkShape(shard)
  const scales = new Uint8Array(shard.scales.length * 4)
  const view = new DataView(scales.buffer)
  shard.scales.forEach((s, i) => view.setFloat32(i * 4, s, true))
  const packed = packr.pack({
    format: SHARD_FORMAT,
    cid: shard.cid,
    dims: shard.dims,
    ids: shard.ids,
    titles: shard.titles,
    snippets: shard.snippets,
    vectors: new Uint8Array(shard.vectors.buffer, shard.vectors.byteOffset, shard.vectors.byteLength),
    scales,
  })
  return new Uint8Array(packed.buffer, packed.byteOffset, packed.byteLength)
}

/** Decodes and validates; throws ShardDecodeError on anything malformed or truncated. */
export function decodeShard(bytes: Uint8Array): Shard {
  let raw: unknown
  try {
    raw = packr.unpack(bytes)
  } catch (error) {
    throw new ShardDecodeError(`shard is not valid msgpack: ${(error as Error).message}`)
  }
  if (typeof raw !== 'object' || raw === null) throw new ShardDecodeError('shard is not a map')
  const r = raw as Record<string, unknown>
  if (r.format !== SHARD_FORMAT) throw new ShardDecodeError(`unsupported shard format ${String(r.format)}`)
  const dims = r.dims
  if (!Number.isInteger(dims) || (dims as number) <= 0) throw new ShardDecodeError('shard dims must be a positive integer')
  const cid = r.cid
  if (!Array.isArray(cid) || !cid.every((t) => Number.isInteger(t) && t >= 0)) throw new ShardDecodeError('shard cid must be a list of tokens')
  const ids = stringList(r.ids, 'ids')
  const titles = stringList(r.titles, 'titles')
  const snippets = stringList(r.snippets, 'snippets')
  if (!(r.vectors instanceof Uint8Array) || !(r.scales instanceof Uint8Array)) throw new ShardDecodeError('shard vectors and scales must be binary')
  const vectorBytes = r.vectors
  const scaleBytes = r.scales
  // Int8 needs no alignment, so the vectors are a view, not a copy.
  const vectors = new Int8Array(vectorBytes.buffer, vectorBytes.byteOffset, vectorBytes.byteLength)
  const scales = new Float32Array(scaleBytes.byteLength / 4)
  const view = new DataView(scaleBytes.buffer, scaleBytes.byteOffset, scaleBytes.byteLength)
  for (let i = 0; i < scales.length; i++) scales[i] = view.getFloat32(i * 4, true)
  const shard: Shard = { cid, dims: dims as number, ids, titles, snippets, vectors, scales }
  try {
    checkShape(shard)
  } catch (error) {
    throw new ShardDecodeError((error as Error).message)
  }
  if (scaleBytes.byteLength !== ids.length * 4) throw new ShardDecodeError('shard scales do not match its documents')
  return shard
}

function stringList(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new ShardDecodeError(`shard ${field} must be a list of strings`)
  return value
}

function checkShape(shard: Shard): void {
  const n = shard.ids.length
  if (shard.titles.length !== n || shard.snippets.length !== n) throw new Error('shard fields have different lengths')
  if (shard.vectors.length !== n * shard.dims) throw new Error(`shard vectors: expected ${n}×${shard.dims} values, got ${shard.vectors.length}`)
  if (shard.scales.length !== n) throw new Error('shard scales: one per document expected')
  for (let i = 0; i < n; i++) if (!Number.isFinite(shard.scales[i])) throw new Error('shard scales must be finite')
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes)
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('')
}
