import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { appendFileSync, mkdtempSync, rmSync, cpSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildIndex, DEFAULT_BUILD } from '../../scripts/build/build-index.ts'
import { createReporter } from '../../scripts/progress.ts'
import { publishIndex, type ObjectStore } from '../../scripts/publish.ts'
import { keys, type Manifest } from '../../src/core/manifest.ts'
import { sha256Hex } from '../../src/core/shard-codec.ts'

/** An in-memory bucket that records the order of writes and can fail after N puts. */
class MemoryStore implements ObjectStore {
  objects = new Map<string, { body: Uint8Array; customMetadata?: Record<string, string> }>()
  writes: string[] = []
  failAfter = Infinity
  async head(key: string) {
    return this.objects.get(key) ?? null
  }
  async get(key: string) {
    const o = this.objects.get(key)
    return o ? { arrayBuffer: async () => o.body.slice().buffer } : null
  }
  async put(key: string, value: Uint8Array | string, options?: { customMetadata?: Record<string, string> }) {
    if (this.writes.length >= this.failAfter) throw new Error('simulated network failure')
    this.writes.push(key)
    this.objects.set(key, { body: typeof value === 'string' ? new TextEncoder().encode(value) : new Uint8Array(value), customMetadata: options?.customMetadata })
  }
}

const quiet = createReporter(true)
let dir: string
let manifest: Manifest

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gdr-publish-'))
  const corpus = fileURLToPath(new URL('../fixtures/tiny-corpus.jsonl', import.meta.url))
  ;({ manifest } = await buildIndex({ ...DEFAULT_BUILD, corpus, out: join(dir, 'index'), dims: 16, buckets: 1 << 10, leafSize: 6, epochs: 1 }, quiet))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('gdr publish', () => {
  it('uploads every object under the version prefix, verified, and moves the pointer last', async () => {
    const store = new MemoryStore()
    const summary = await publishIndex(join(dir, 'index'), store, quiet)
    const prefix = keys.versionPrefix(manifest.name, manifest.version)
    expect(summary.uploaded).toBe(manifest.shards.length + 2)
    expect(store.writes.at(-1)).toBe(keys.pointer(manifest.name))
    expect(store.writes.at(-2)).toBe(keys.manifest(manifest.name, manifest.version))
    for (const shard of manifest.shards) expect(await sha256Hex(store.objects.get(prefix + shard.key)!.body)).toBe(shard.sha256)
    const pointer = JSON.parse(new TextDecoder().decode(store.objects.get(keys.pointer(manifest.name))!.body))
    expect(pointer.version).toBe(manifest.version)
  })

  it('leaves the pointer alone when interrupted, and a rerun uploads only what is missing', async () => {
    const store = new MemoryStore()
    store.failAfter = 3
    await expect(publishIndex(join(dir, 'index'), store, quiet)).rejects.toThrow(/simulated/)
    expect(store.objects.has(keys.pointer(manifest.name))).toBe(false)
    store.failAfter = Infinity
    store.writes = []
    const summary = await publishIndex(join(dir, 'index'), store, quiet)
    expect(summary.skipped).toBe(3)
    expect(summary.uploaded).toBe(manifest.shards.length + 2 - 3)
    expect(store.writes.at(-1)).toBe(keys.pointer(manifest.name))
  })

  it('refuses a damaged index folder before touching the store', async () => {
    const damaged = join(dir, 'damaged')
    cpSync(join(dir, 'index'), damaged, { recursive: true })
    appendFileSync(join(damaged, manifest.shards[0].key), 'x')
    const store = new MemoryStore()
    await expect(publishIndex(damaged, store, quiet)).rejects.toThrow(/does not match the manifest's sha256/)
    expect(store.writes).toEqual([])
  })

  it('explains a folder that is not an index', async () => {
    await expect(publishIndex(join(dir, 'nope'), new MemoryStore(), quiet)).rejects.toThrow(/manifest\.json: not found \(run gdr build first\)/)
  })
})
