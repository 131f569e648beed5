// gc's keep slots: the newest complete versions (rollback targets); an abandoned upload must not take one.
import { describe, expect, it } from 'vitest'
import { MemoryStore } from './memory-store.ts'
import { manifestWith, shardAt } from './manifest-fixture.ts'
import { collectGarbage } from '../../src/core/versions.ts'
import { keys, manifestObjects } from '../../src/core/manifest.ts'

const NAME = 'default'

/** A complete version (its manifest and every object it lists, of the listed sizes), uploaded at `at` ms. */
function publish(store: MemoryStore, version: string, at: number) {
  const manifest = { ...manifestWith({ parent: [-1, 0, 0] }, [shardAt(1), shardAt(2)]), name: NAME, version }
  const put = (key: string, body: Uint8Array) => store.objects.set(key, { body, uploaded: new Date(at) })
  for (const o of manifestObjects(manifest as never)) put(keys.versionPrefix(NAME, version) + o.key, new Uint8Array(o.bytes))
  put(keys.manifest(NAME, version), new TextEncoder().encode(JSON.stringify(manifest)))
}

function point(store: MemoryStore, version: string) {
  const pointer = { version, manifest: keys.manifest(NAME, version), publishedAt: new Date(0).toISOString() }
  store.objects.set(keys.pointer(NAME, 'current'), { body: new TextEncoder().encode(JSON.stringify(pointer)), uploaded: new Date(0) })
}

describe('gc --keep', () => {
  it('keeps the newest complete versions and an upload in flight; an abandoned upload takes no complete version\'s place', async () => {
    const store = new MemoryStore()
    publish(store, 'v1', 1000) // the previous version: the rollback target
    publish(store, 'v2', 2000)
    point(store, 'v2')
    store.objects.set(keys.versionPrefix(NAME, 'v3') + 'model.onnx', { body: new Uint8Array(1), uploaded: new Date(3000) }) // no manifest
    const { deleted, kept } = await collectGarbage(store, NAME, 2)
    expect(kept.map((v) => v.version).sort()).toEqual(['v1', 'v2', 'v3'])
    expect(deleted).toEqual([])
    // With one slot, the current version holds it by its pointer anyway; v1 goes, and v3 (the newest, perhaps in flight) stays.
    expect((await collectGarbage(store, NAME, 1, { dryRun: true })).deleted.map((v) => v.version)).toEqual(['v1'])
    expect((await collectGarbage(store, NAME, 0, { dryRun: true })).deleted.map((v) => v.version).sort()).toEqual(['v1', 'v3'])
  })
})
