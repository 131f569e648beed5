import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { appendFileSync, mkdtempSync, rmSync, cpSync, statSync, unlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildIndex, DEFAULT_BUILD } from '../../scripts/build/build-index.ts'
import { createReporter } from '../../scripts/progress.ts'
import { dryRunFolder, publishFolder } from '../../scripts/publish.ts'
import { keys, manifestObjects, type Manifest } from '../../src/core/manifest.ts'
import { sha256Hex } from '../../src/core/shard-codec.ts'
import { failingAfter } from '../support/store-wrappers.ts'
import { MemoryStore } from './memory-store.ts'

const quiet = createReporter(true)
let dir: string
let manifest: Manifest

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gdr-publish-'))
  const corpus = fileURLToPath(new URL('../fixtures/tiny-corpus.jsonl', import.meta.url))
  ;({ manifest } = await buildIndex({ ...DEFAULT_BUILD, corpus, out: join(dir, 'index'), dims: 16, buckets: 1 << 10, leafSize: 6, epochs: 1 }, quiet))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

// Every shard and lexicon part, the model and the manifest.
const objectCount = () => manifestObjects(manifest).length + 1

describe('gdr publish', () => {
  it('uploads every object under the version prefix, verified, and moves the pointer last', async () => {
    const store = new MemoryStore()
    const summary = await publishFolder(join(dir, 'index'), store, quiet)
    const prefix = keys.versionPrefix(manifest.name, manifest.version)
    expect(summary.uploaded).toBe(objectCount())
    expect(store.writes.at(-1)).toBe(keys.pointer(manifest.name))
    expect(store.writes.at(-2)).toBe(keys.manifest(manifest.name, manifest.version))
    for (const object of manifestObjects(manifest)) expect(await sha256Hex(store.objects.get(prefix + object.key)!.body)).toBe(object.sha256)
    expect(JSON.parse(store.text(keys.pointer(manifest.name))).version).toBe(manifest.version)
  })

  it('publishes under another index name and pointer when asked', async () => {
    const store = new MemoryStore()
    await publishFolder(join(dir, 'index'), store, quiet, { name: 'other', pointer: 'preview' })
    expect(store.objects.has(keys.manifest('other', manifest.version))).toBe(true)
    expect(JSON.parse(store.text('other/preview.json'))).toMatchObject({ version: manifest.version, manifest: keys.manifest('other', manifest.version) })
    expect([...store.objects.keys()].every((k) => k.startsWith('other/'))).toBe(true)
  })

  it('leaves the pointer alone when interrupted, and a rerun uploads only what is missing', async () => {
    const store = new MemoryStore()
    const failing = failingAfter(store, 3)
    await expect(publishFolder(join(dir, 'index'), failing, quiet)).rejects.toThrow(/simulated/)
    expect(store.objects.has(keys.pointer(manifest.name))).toBe(false)
    store.writes = []
    const summary = await publishFolder(join(dir, 'index'), store, quiet)
    expect(summary.skipped).toBe(3)
    expect(summary.uploaded).toBe(objectCount() - 3)
    for (const key of failing.succeeded) expect(store.writes).not.toContain(key)
    expect(store.writes.at(-1)).toBe(keys.pointer(manifest.name))
  })

  it('does not move the pointer when an object vanished before the end (a concurrent gc)', async () => {
    const store = new MemoryStore()
    const shardKey = keys.versionPrefix(manifest.name, manifest.version) + manifest.shards[0].key
    // Deletes the first shard right after the manifest is stored, before the final check.
    const racing = { ...failingAfter(store, Infinity), put: async (key: string, value: Uint8Array | string, options?: object) => {
      await store.put(key, value, options)
      if (key.endsWith('manifest.json')) await store.delete(shardKey)
    } }
    await expect(publishFolder(join(dir, 'index'), racing, quiet)).rejects.toThrow(/not complete after upload \(missing shards\//)
    expect(store.objects.has(keys.pointer(manifest.name))).toBe(false)
  })

  it('refuses a damaged index folder before touching the store', async () => {
    const damaged = join(dir, 'damaged')
    cpSync(join(dir, 'index'), damaged, { recursive: true })
    appendFileSync(join(damaged, manifest.shards[0].key), 'x')
    const store = new MemoryStore()
    await expect(publishFolder(damaged, store, quiet)).rejects.toThrow(/does not match the manifest's sha256/)
    unlinkSync(join(damaged, manifest.shards[0].key))
    await expect(publishFolder(damaged, store, quiet)).rejects.toThrow(/cannot read it/)
    expect(store.writes).toEqual([])
  })

  it('explains a folder that is not an index', async () => {
    await expect(publishFolder(join(dir, 'nope'), new MemoryStore(), quiet)).rejects.toThrow(/manifest\.json: not found \(run gdr build first\)/)
  })
})

describe('gdr publish --dry-run', () => {
  it('lists what would be uploaded and what is already there, and writes nothing', async () => {
    const store = new MemoryStore()
    await publishFolder(join(dir, 'index'), failingAfter(store, 2), quiet).catch(() => {})
    const before = new Map(store.objects)
    store.writes = []
    const lines: string[] = []
    const result = await dryRunFolder(join(dir, 'index'), store, {}, (line) => lines.push(line))
    expect(result).toMatchObject({ upload: objectCount() - 2, skip: 2 })
    expect(lines.filter((l) => l.startsWith('skip')).length).toBe(2)
    expect(lines.filter((l) => l.startsWith('upload')).length).toBe(objectCount() - 2)
    expect(lines.some((l) => l.includes(`${keys.pointer(manifest.name)} → ${manifest.version}`))).toBe(true)
    expect(store.writes).toEqual([])
    expect(store.objects).toEqual(before)
  })

  it('without a store, lists every object as an upload', async () => {
    const lines: string[] = []
    const result = await dryRunFolder(join(dir, 'index'), null, {}, (line) => lines.push(line))
    expect(result.upload).toBe(objectCount())
    const manifestBytes = statSync(join(dir, 'index', 'manifest.json')).size
    expect(result.bytes).toBe(manifestObjects(manifest).reduce((s, x) => s + x.bytes, 0) + manifestBytes)
    expect(lines.at(-1)).toMatch(/store not consulted/)
  })
})
