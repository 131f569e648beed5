// Decoded shards, display objects and lexicon parts kept in the isolate, keyed by their full R2
// key (which names the index version, so versions can never mix), evicted
// least-recently-used past one byte budget. Only verified, decoded objects are
// kept: a read that fails, or that misses its deadline, is forgotten so a later
// request retries it.

import { decodedDisplayBytes, decodedLexiconPartBytes, decodedShardBytes, decodeLexiconPart, decodeShard, decodeShardDisplay, sha256Hex, ShardDecodeError, shardRows, type Shard, type ShardDisplay } from '../core/shard-codec.ts'
import { lexiconPartOf, type LexiconPartEntry, type ShardEntry } from '../core/manifest.ts'
import { cidKey } from '../core/tree.ts'
import type { LexiconPart } from '../core/lexical.ts'
import type { ReadOnlyBucket } from './env.ts'

/**
 * Decoded shards, display objects and lexicon parts, as decoded*Bytes count them, which
 * is about what the isolate's heap holds for them once collected (display strings
 * count two bytes a character; V8 keeps ASCII in one). The isolate's other memory is
 * ~11 MB since the model runs without ORT (session 20: npm 186K's isolate held 58.9
 * MB after the benchmark with 48 MiB of cache; ORT's WebAssembly had taken 33.3 MB
 * more until then), so 80 MiB keeps a Worker under 100 MB of its 128. Searches of
 * many different queries are what the budget is for: npm, 600 searches drawn at
 * random from the bench's 200 queries (48 MB of objects, encoded), the Worker's mean
 * 5.20 ms at 48 MiB (3.05 of it R2 reads), 2.25 at 64 and 0.96 at 80
 * (.tmp/steady.mts, session 20; 8.97 ms at 32 MiB in session 19).
 */
export const SHARD_CACHE_BUDGET_BYTES = 80 * 1024 * 1024

/** Why a shard could not be used; reported to clients in `skipped`. */
export type ShardFaultReason = 'missing' | 'corrupt' | 'timeout' | 'unreadable'

export class ShardFault extends Error {
  override name = 'ShardFault'
  constructor(
    readonly reason: ShardFaultReason,
    message: string,
  ) {
    super(message)
  }
}

/** What a shard must be to be used, beyond its bytes' digest. */
export interface ShardExpectation {
  entry: ShardEntry
  /** Vector dimensions of the index. */
  dims: number
}

interface Entry {
  value: Promise<unknown>
  bytes: number
  settled: boolean
}

const cache = new Map<string, Entry>()
let cachedBytes = 0

/** Bytes the budget counts: decoded size of the shards held, encoded size of those being read. */
export function cachedShardBytes(): number {
  return cachedBytes
}

/** Keys of the shards held (or being read), least recently used first. For tests and diagnostics. */
export function cachedShardKeys(): string[] {
  return [...cache.keys()]
}

/**
 * The decoded shard at `key`, from the cache or R2. Rejects with a ShardFault;
 * after `deadlineMs` the caller stops waiting (and an unfinished read is
 * dropped from the cache, so one stuck read cannot fail later requests too).
 */
export function getShard(bucket: ReadOnlyBucket, key: string, expect: ShardExpectation, deadlineMs: number): Promise<Shard> {
  return cachedRead(key, expect.entry.bytes, () => readShard(bucket, key, expect), decodedShardBytes, deadlineMs)
}

/** The decoded display object of a leaf (the entry's `display`), as getShard. */
export function getShardDisplay(bucket: ReadOnlyBucket, key: string, entry: ShardEntry, deadlineMs: number): Promise<ShardDisplay> {
  return cachedRead(key, entry.display.bytes, () => readDisplay(bucket, key, entry), decodedDisplayBytes, deadlineMs)
}

async function readDisplay(bucket: ReadOnlyBucket, key: string, entry: ShardEntry): Promise<ShardDisplay> {
  const display = decoded(key, decodeShardDisplay, await readVerified(bucket, key, entry.display.sha256, 'display object'))
  // Rows must line up with the shard's: a verified object of another build would name the wrong documents.
  if (display.ids.length !== entry.docs || cidKey(display.cid) !== cidKey(entry.cid)) {
    throw new ShardFault('corrupt', `display object ${key} holds ${display.ids.length} documents of cluster ${cidKey(display.cid)}, the manifest says ${entry.docs} of ${cidKey(entry.cid)}`)
  }
  return display
}

/** What a lexicon part must be: its manifest entry, of `parts` parts. */
export interface LexiconPartExpectation {
  entry: LexiconPartEntry
  parts: number
}

/** The decoded lexicon part at `key`, as getShard. */
export function getLexiconPart(bucket: ReadOnlyBucket, key: string, expect: LexiconPartExpectation, deadlineMs: number): Promise<LexiconPart> {
  return cachedRead(key, expect.entry.bytes, () => readLexiconPart(bucket, key, expect), decodedLexiconPartBytes, deadlineMs)
}

async function readLexiconPart(bucket: ReadOnlyBucket, key: string, { entry, parts }: LexiconPartExpectation): Promise<LexiconPart> {
  const part = decoded(key, decodeLexiconPart, await readVerified(bucket, key, entry.sha256, 'lexicon part'))
  // A verified part of another build would route by the wrong terms.
  if (part.terms.length !== entry.terms || part.terms.some((term) => lexiconPartOf(term, parts) !== entry.part)) {
    throw new ShardFault('corrupt', `lexicon part ${key} does not hold the terms the manifest says (${entry.terms} terms of part ${entry.part} of ${parts})`)
  }
  return part
}

function cachedRead<T>(key: string, encodedBytes: number, read: () => Promise<T>, decodedBytes: (value: T) => number, deadlineMs: number): Promise<T> {
  let record = cache.get(key)
  if (record) {
    // Re-insert: Map iteration order is our recency order.
    cache.delete(key)
    cache.set(key, record)
  } else {
    record = startRead(key, encodedBytes, read, decodedBytes as (value: unknown) => number)
  }
  return (record.settled ? record.value : withDeadline(key, record, deadlineMs)) as Promise<T>
}

function startRead(key: string, encodedBytes: number, read: () => Promise<unknown>, decodedBytes: (value: unknown) => number): Entry {
  const record: Entry = { value: read(), bytes: encodedBytes, settled: false }
  cache.set(key, record)
  cachedBytes += record.bytes
  record.value.then(
    (value) => {
      record.settled = true
      if (cache.get(key) !== record) return
      const bytes = decodedBytes(value)
      cachedBytes += bytes - record.bytes
      record.bytes = bytes
      evict()
    },
    () => {
      record.settled = true
      forget(key, record)
    },
  )
  evict()
  return record
}

function withDeadline(key: string, record: Entry, deadlineMs: number): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      if (!record.settled) forget(key, record)
      reject(new ShardFault('timeout', `${key} was not read within ${deadlineMs} ms`))
    }, deadlineMs)
  })
  return Promise.race([record.value, timeout]).finally(() => clearTimeout(timer))
}

/** The object's bytes, checked against the manifest's sha256. */
async function readVerified(bucket: ReadOnlyBucket, key: string, sha256: string, what: string): Promise<Uint8Array> {
  let bytes: Uint8Array
  try {
    const object = await bucket.get(key)
    if (!object) throw new ShardFault('missing', `${what} ${key} is missing`)
    bytes = new Uint8Array(await object.arrayBuffer())
  } catch (error) {
    if (error instanceof ShardFault) throw error
    throw new ShardFault('unreadable', `${what} ${key} could not be read: ${(error as Error).message}`)
  }
  if ((await sha256Hex(bytes)) !== sha256) throw new ShardFault('corrupt', `${what} ${key} does not match its sha256`)
  return bytes
}

function decoded<T>(key: string, decode: (bytes: Uint8Array) => T, bytes: Uint8Array): T {
  try {
    return decode(bytes)
  } catch (error) {
    if (error instanceof ShardDecodeError) throw new ShardFault('corrupt', `${key} does not decode: ${error.message}`)
    throw error
  }
}

async function readShard(bucket: ReadOnlyBucket, key: string, expect: ShardExpectation): Promise<Shard> {
  const shard = decoded(key, decodeShard, await readVerified(bucket, key, expect.entry.sha256, 'shard'))
  // A verified shard from a different build would be scored with the wrong geometry, or as another leaf.
  if (shard.dims !== expect.dims || shardRows(shard) !== expect.entry.docs || cidKey(shard.cid) !== cidKey(expect.entry.cid)) {
    throw new ShardFault('corrupt', `shard ${key} holds ${shardRows(shard)}×${shard.dims} of cluster ${cidKey(shard.cid)}, the manifest says ${expect.entry.docs}×${expect.dims} of ${cidKey(expect.entry.cid)}`)
  }
  return shard
}

function forget(key: string, record: Entry): void {
  if (cache.get(key) !== record) return
  cache.delete(key)
  cachedBytes -= record.bytes
}

function evict(): void {
  for (const [key, record] of cache) {
    if (cachedBytes <= SHARD_CACHE_BUDGET_BYTES || cache.size <= 1) break
    forget(key, record)
  }
}
