// The shard cache's contract, with a fake bucket: verified shards are kept and
// shared, every kind of failure is reported with its reason and never kept.
import { beforeEach, describe, expect, it, vi } from 'vitest'
import type { ShardEntry } from '../../src/core/manifest.ts'
import { decodedDisplayBytes, decodedShardBytes, encodeShard, encodeShardDisplay, sha256Hex, shardRows, type Shard, type ShardDisplay } from '../../src/core/shard-codec.ts'

type CacheModule = typeof import('../../src/worker/shard-cache.ts')
let cache: CacheModule

const postings = { terms: Uint32Array.of(7), idf: Float32Array.of(1.5), postingStart: Uint32Array.of(0, 2), rows: Uint32Array.of(0, 1), weights: Uint8Array.of(200, 90) }
const shard: Shard = { cid: [0], dims: 4, vectors: new Int8Array(8).fill(3), scales: new Float32Array([0.1, 0.2]), postings }
const bytes = encodeShard(shard)
const display: ShardDisplay = { cid: [0], ids: ['a', 'b'], titles: ['A', 'B'], snippets: ['', ''] }
const displayBytes = encodeShardDisplay(display)
const postingBytes = (s: Shard) => Object.values(s.postings).reduce((n: number, a: ArrayBufferView) => n + a.byteLength, 0)

async function entryFor(body: Uint8Array, overrides: Partial<ShardEntry> = {}): Promise<ShardEntry> {
  const displayRef = { key: 'display/0.msgpack', bytes: displayBytes.length, sha256: await sha256Hex(displayBytes) }
  return { cid: [0], node: 1, key: 'shards/0.msgpack', docs: 2, bytes: body.length, sha256: await sha256Hex(body), display: displayRef, ...overrides }
}

/** A bucket whose get() answers from `objects` (or as `behave` says), counting calls. */
function fakeBucket(objects: Record<string, Uint8Array>, behave?: (key: string) => Promise<unknown> | undefined) {
  const reads: string[] = []
  const bucket = {
    get: async (key: string) => {
      reads.push(key)
      const special = behave?.(key)
      if (special) return special
      const body = objects[key]
      return body ? { arrayBuffer: async () => body.slice().buffer } : null
    },
  } as unknown as R2Bucket
  return { bucket, reads }
}

beforeEach(async () => {
  vi.resetModules()
  cache = await import('../../src/worker/shard-cache.ts')
})

describe('shard cache', () => {
  it('reads a verified shard once and shares it, also between concurrent callers', async () => {
    const { bucket, reads } = fakeBucket({ k: bytes })
    const entry = await entryFor(bytes)
    const [a, b] = await Promise.all([cache.getShard(bucket, 'k', { entry, dims: 4 }, 1000), cache.getShard(bucket, 'k', { entry, dims: 4 }, 1000)])
    const c = await cache.getShard(bucket, 'k', { entry, dims: 4 }, 1000)
    expect(shardRows(a)).toBe(2)
    expect(b).toBe(a)
    expect(c).toBe(a)
    expect(reads).toEqual(['k'])
    expect(cache.cachedShardKeys()).toEqual(['k'])
    // The budget counts what the decoded shard holds, not its encoded size.
    expect(cache.cachedShardBytes()).toBe(decodedShardBytes(a))
    expect(decodedShardBytes(a)).toBe(a.vectors.byteLength + a.scales.byteLength + postingBytes(a))
  })

  const faults: [string, () => Promise<{ objects: Record<string, Uint8Array>; entry: ShardEntry; behave?: (key: string) => Promise<unknown> | undefined }>, string][] = [
    ['a missing object', async () => ({ objects: {}, entry: await entryFor(bytes) }), 'missing'],
    ['bytes that fail the digest', async () => ({ objects: { k: bytes.map((x, i) => (i === 5 ? x ^ 1 : x)) }, entry: await entryFor(bytes) }), 'corrupt'],
    // The digest matches (a bad build), but the bytes do not decode.
    ['bytes that do not decode', async () => ({ objects: { k: bytes.slice(0, 20) }, entry: await entryFor(bytes.slice(0, 20)) }), 'corrupt'],
    ['a shard of other dimensions', async () => ({ objects: { k: bytes }, entry: await entryFor(bytes, { docs: 3 }) }), 'corrupt'],
    ['a shard of another cluster', async () => ({ objects: { k: bytes }, entry: await entryFor(bytes, { cid: [5] }) }), 'corrupt'],
    ['a read that throws', async () => ({ objects: {}, entry: await entryFor(bytes), behave: () => Promise.reject(new Error('R2 is down')) }), 'unreadable'],
  ]

  for (const [what, setup, reason] of faults) {
    it(`reports ${what} as "${reason}" and keeps nothing`, async () => {
      const { objects, entry, behave } = await setup()
      const { bucket, reads } = fakeBucket(objects, behave)
      for (let attempt = 1; attempt <= 2; attempt++) {
        const error = await cache.getShard(bucket, 'k', { entry, dims: 4 }, 1000).catch((e: unknown) => e)
        expect(error).toBeInstanceOf(cache.ShardFault)
        expect((error as InstanceType<CacheModule['ShardFault']>).reason).toBe(reason)
        await Promise.resolve()
        expect(cache.cachedShardKeys()).toEqual([])
        expect(reads.length).toBe(attempt) // retried on every request
      }
    })
  }

  it('gives up on a read after the deadline and forgets it, so the next request reads again', async () => {
    vi.useFakeTimers()
    try {
      let answer!: (value: unknown) => void
      const stuck = new Promise((resolve) => (answer = resolve))
      const { bucket, reads } = fakeBucket({ k: bytes }, () => (reads.length === 1 ? stuck : undefined))
      const entry = await entryFor(bytes)
      const first = cache.getShard(bucket, 'k', { entry, dims: 4 }, 100).catch((e: unknown) => e)
      await vi.advanceTimersByTimeAsync(100)
      const error = await first
      expect((error as InstanceType<CacheModule['ShardFault']>).reason).toBe('timeout')
      expect(cache.cachedShardKeys()).toEqual([])
      const second = await cache.getShard(bucket, 'k', { entry, dims: 4 }, 100)
      expect(shardRows(second)).toBe(2)
      expect(reads.length).toBe(2)
      answer(null) // the stuck read finishing late changes nothing
      await vi.advanceTimersByTimeAsync(1)
      expect(cache.cachedShardKeys()).toEqual(['k'])
    } finally {
      vi.useRealTimers()
    }
  })

  it('reads a verified display object once, budgets its strings, and refuses one that does not match its leaf', async () => {
    const entry = await entryFor(bytes)
    const { bucket, reads } = fakeBucket({ d: displayBytes })
    const a = await cache.getShardDisplay(bucket, 'd', entry, 1000)
    expect(a).toEqual(display)
    expect(await cache.getShardDisplay(bucket, 'd', entry, 1000)).toBe(a)
    expect(reads).toEqual(['d'])
    expect(cache.cachedShardBytes()).toBe(decodedDisplayBytes(a))
    expect(decodedDisplayBytes(a)).toBe(3 * 2 * 24 + 2 * ['a', 'b', 'A', 'B'].join('').length)
    // Verified bytes of another leaf (a bad build): as many documents, another cluster.
    const other = encodeShardDisplay({ ...display, cid: [1] })
    const otherEntry = await entryFor(bytes, { display: { key: 'o', bytes: other.length, sha256: await sha256Hex(other) } })
    const error = await cache.getShardDisplay(fakeBucket({ o: other }).bucket, 'o', otherEntry, 1000).catch((e: unknown) => e)
    expect((error as InstanceType<CacheModule['ShardFault']>).reason).toBe('corrupt')
    // Or of fewer documents than the manifest's entry has.
    const short = await cache.getShardDisplay(fakeBucket({ d3: displayBytes }).bucket, 'd3', { ...entry, docs: 3 }, 1000).catch((e: unknown) => e)
    expect((short as InstanceType<CacheModule['ShardFault']>).reason).toBe('corrupt')
    expect(cache.cachedShardKeys()).toEqual(['d'])
  })
})
