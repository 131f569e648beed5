// Decoded shards kept in the isolate, keyed by their full R2 key (which names
// the index version, so versions can never mix), evicted least-recently-used
// past a byte budget. Only verified, decoded shards are kept.

import { decodeShard, type Shard } from '../core/shard-codec.ts'
import type { ShardEntry } from '../core/manifest.ts'
import type { Env } from './env.ts'
import { readVerified } from './index-store.ts'

const BUDGET_BYTES = 48 * 1024 * 1024

interface Entry {
  shard: Promise<Shard>
  bytes: number
}

const cache = new Map<string, Entry>()
let cachedBytes = 0

export function getShard(env: Env, prefix: string, entry: ShardEntry): Promise<Shard> {
  const key = prefix + entry.key
  const hit = cache.get(key)
  if (hit) {
    // Re-insert: Map iteration order is our recency order.
    cache.delete(key)
    cache.set(key, hit)
    return hit.shard
  }
  const shard = readVerified(env, key, entry.sha256).then(decodeShard)
  const record: Entry = { shard, bytes: entry.bytes }
  cache.set(key, record)
  cachedBytes += entry.bytes
  shard.catch(() => forget(key, record))
  evict()
  return shard
}

function forget(key: string, record: Entry): void {
  if (cache.get(key) !== record) return
  cache.delete(key)
  cachedBytes -= record.bytes
}

function evict(): void {
  for (const [key, record] of cache) {
    if (cachedBytes <= BUDGET_BYTES || cache.size <= 1) break
    forget(key, record)
  }
}
