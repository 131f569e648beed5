// Publishing while the Worker serves, inside workerd: the real publish code
// (src/core/publish.ts) against the R2 binding, and the Worker's handler with
// its own settings per test (index name, pointer TTL), so tests don't share state.
import { env } from 'cloudflare:workers'
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { beforeAll, describe, expect, inject, it, vi } from 'vitest'
import worker from '../../src/worker/index.ts'
import type { Env } from '../../src/worker/env.ts'
import { keys, manifestObjects } from '../../src/core/manifest.ts'
import { checkVersion, collectGarbage, listVersions, rollback } from '../../src/core/versions.ts'
import { failingAfter, recording, SimulatedFailure } from '../support/store-wrappers.ts'
import { derivedVersion, manifestOf, publishIndex, type ProvidedIndex } from './fixtures.ts'

const v1 = inject('tinyIndex')
const QUERY = 'how to bake bread with a sourdough starter'
let v2: ProvidedIndex

interface SearchBody {
  results: { id: string }[]
  index: string
}
interface IndexBody {
  name: string
  version: string
  docs: number
  shards: number
  createdAt: string
  publishedAt: string
}

beforeAll(async () => {
  v2 = await derivedVersion(v1, '.v2')
})

/** One request through the Worker's handler; waits for its background work (a pointer check) too. */
async function call<T>(testEnv: Env, path: string): Promise<T> {
  const ctx = createExecutionContext()
  const response = await worker.fetch(new Request(`https://gdr.test${path}`), testEnv, ctx)
  await waitOnExecutionContext(ctx)
  expect(response.status, path).toBe(200)
  return response.json()
}

const served = (testEnv: Env) => call<IndexBody>(testEnv, '/v1/index')
const search = (testEnv: Env, q = QUERY) => call<SearchBody>(testEnv, `/search?q=${encodeURIComponent(q)}&k=5`)

/** Asks until the Worker serves `version`; returns how long that took. */
async function untilServed(testEnv: Env, version: string, timeoutMs = 10_000): Promise<number> {
  const started = Date.now()
  while ((await served(testEnv)).version !== version) {
    if (Date.now() - started > timeoutMs) throw new Error(`still not serving ${version} after ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
  return Date.now() - started
}

/** An R2 binding whose reads under `prefix` wait until opened, to hold a request in the middle of its work. */
function gatedBucket(inner: R2Bucket, prefix: string) {
  let reach!: () => void
  let open!: () => void
  const reached = new Promise<void>((r) => (reach = r))
  const opened = new Promise<void>((r) => (open = r))
  const bucket = {
    get: async (key: string) => {
      if (key.startsWith(prefix)) {
        reach()
        await opened
      }
      return inner.get(key)
    },
  } as unknown as R2Bucket
  return { bucket, reached, open }
}

async function pointerVersion(name: string): Promise<string> {
  const object = await env.INDEX.get(keys.pointer(name))
  return ((await object!.json()) as { version: string }).version
}

describe('publishing while serving', () => {
  it('serves a new version within the pointer TTL, and a request already running finishes on the old one', async () => {
    const name = 'swap'
    await publishIndex(env.INDEX, v1, { name })
    const gate = gatedBucket(env.INDEX, keys.versionPrefix(name, v1.version) + 'shards/')
    const longTtl: Env = { INDEX: gate.bucket, INDEX_NAME: name, POINTER_TTL_SECONDS: '3600' }
    expect((await served(longTtl)).version).toBe(v1.version)

    // A search that has loaded v1 and is now reading v1's shards, held there.
    const running = worker.fetch(new Request(`https://gdr.test/search?q=${encodeURIComponent(QUERY)}&k=5`), longTtl, createExecutionContext())
    await gate.reached

    await publishIndex(env.INDEX, v2, { name })
    expect(await pointerVersion(name)).toBe(v2.version)
    // Within the TTL the pointer is not re-read.
    for (let i = 0; i < 3; i++) expect((await served(longTtl)).version).toBe(v1.version)

    const ttlSeconds = 0.3
    const shortTtl: Env = { ...longTtl, POINTER_TTL_SECONDS: String(ttlSeconds) }
    const tookMs = await untilServed(shortTtl, v2.version)
    expect(tookMs).toBeLessThan(ttlSeconds * 1000 + 5000) // the TTL plus one model load
    const onV2 = await search(shortTtl)
    expect(onV2.index).toBe(v2.version)
    expect(onV2.results.length).toBe(5)
    expect(onV2.results.every((r) => r.id.endsWith('.v2'))).toBe(true)

    gate.open()
    const response = await running
    expect(response.status).toBe(200)
    const onV1 = (await response.json()) as SearchBody
    expect(onV1.index).toBe(v1.version)
    // Same ranking, v1's documents: v2 differs from v1 only by the id suffix.
    expect(onV1.results.map((r) => `${r.id}.v2`)).toEqual(onV2.results.map((r) => r.id))
  })

  it('reads a blank POINTER_TTL_SECONDS as the default (5 s), not as 0', async () => {
    const name = 'blank-ttl'
    await publishIndex(env.INDEX, v1, { name })
    const blankTtl: Env = { INDEX: env.INDEX, INDEX_NAME: name, POINTER_TTL_SECONDS: '  ' }
    vi.useFakeTimers({ toFake: ['Date'] }) // no time passes: only a TTL of 0 would re-read the pointer
    try {
      expect((await served(blankTtl)).version).toBe(v1.version)
      await publishIndex(env.INDEX, v2, { name })
      // Each call waits for its background pointer check, if it started one.
      for (let i = 0; i < 3; i++) expect((await served(blankTtl)).version).toBe(v1.version)
    } finally {
      vi.useRealTimers()
    }
  })

  it('keeps serving the old version when a publish dies halfway; a rerun finishes it without re-uploading', async () => {
    const name = 'resume'
    const first = await publishIndex(env.INDEX, v1, { name })
    const testEnv: Env = { INDEX: env.INDEX, INDEX_NAME: name, POINTER_TTL_SECONDS: '0' }
    const info = await served(testEnv)
    const manifest = manifestOf(v1)
    expect(info).toEqual({ name, version: v1.version, docs: manifest.docs, shards: manifest.shards.length, createdAt: manifest.createdAt, publishedAt: first.pointer.publishedAt, isolate: expect.any(Object) })

    const failing = failingAfter(env.INDEX, 3)
    await expect(publishIndex(failing, v2, { name })).rejects.toThrow(SimulatedFailure)
    expect(failing.succeeded.length).toBe(3)
    expect(await pointerVersion(name)).toBe(v1.version)
    // TTL 0: every request re-checks the pointer, and it still names v1.
    for (let i = 0; i < 3; i++) {
      const body = await search(testEnv)
      expect(body.index).toBe(v1.version)
      expect(body.results.some((r) => r.id.endsWith('.v2'))).toBe(false)
    }

    const rerun = recording(env.INDEX)
    const summary = await publishIndex(rerun, v2, { name })
    const objects = manifestObjects(manifestOf(v2)).length + 1
    expect(summary).toMatchObject({ version: v2.version, skipped: 3, uploaded: objects - 3 })
    for (const key of failing.succeeded) expect(rerun.puts).not.toContain(key)
    expect(rerun.puts.at(-1)).toBe(keys.pointer(name))
    await untilServed(testEnv, v2.version)
    expect((await search(testEnv)).results.every((r) => r.id.endsWith('.v2'))).toBe(true)
  })
})

describe('versions, rollback, gc on R2', () => {
  it('lists versions, rolls back only to complete ones, and gc keeps every version a pointer names', async () => {
    const name = 'history'
    const v3 = await derivedVersion(v1, '.v3')
    const v4 = await derivedVersion(v1, '.v4')
    await publishIndex(env.INDEX, v1, { name })
    await publishIndex(env.INDEX, v2, { name })
    await publishIndex(env.INDEX, v3, { name, pointer: 'preview' })
    await expect(publishIndex(failingAfter(env.INDEX, 2), v4, { name })).rejects.toThrow(SimulatedFailure)

    const versions = await listVersions(env.INDEX, name)
    expect(versions.map((v) => v.version)).toEqual([v4.version, v3.version, v2.version, v1.version])
    const byVersion = new Map(versions.map((v) => [v.version, v]))
    expect(byVersion.get(v2.version)!.pointers).toEqual(['current'])
    expect(byVersion.get(v3.version)!.pointers).toEqual(['preview'])
    expect(byVersion.get(v1.version)!.pointers).toEqual([])
    expect(byVersion.get(v4.version)!.problem).toMatch(/no manifest/)
    expect(byVersion.get(v4.version)!.objects).toBe(2)
    const m1 = manifestOf(v1)
    expect(byVersion.get(v1.version)!.manifest!.docs).toBe(m1.docs)
    expect(byVersion.get(v1.version)!.problem).toBeUndefined()
    expect(byVersion.get(v1.version)!.bytes).toBe(manifestObjects(m1).reduce((s, x) => s + x.bytes, 0) + atob(v1.files['manifest.json']).length)

    await expect(rollback(env.INDEX, name, 'current', v4.version)).rejects.toThrow(/cannot be served: no manifest/)
    await expect(rollback(env.INDEX, name, 'current', 'never-published')).rejects.toThrow(/cannot be served: not found/)
    const testEnv: Env = { INDEX: env.INDEX, INDEX_NAME: name, POINTER_TTL_SECONDS: '0' }
    await untilServed(testEnv, v2.version)
    const { previous, pointer } = await rollback(env.INDEX, name, 'current', v1.version)
    expect(previous?.version).toBe(v2.version)
    expect(pointer.version).toBe(v1.version)
    await untilServed(testEnv, v1.version)

    const dry = await collectGarbage(env.INDEX, name, 1, { dryRun: true })
    expect(dry.deleted.map((v) => v.version)).toEqual([v2.version])
    expect((await listVersions(env.INDEX, name)).length).toBe(4)

    const gc = await collectGarbage(env.INDEX, name, 0)
    expect(gc.deleted.map((v) => v.version).sort()).toEqual([v2.version, v4.version].sort())
    expect(gc.kept.map((v) => v.version).sort()).toEqual([v1.version, v3.version].sort())
    expect((await env.INDEX.list({ prefix: keys.versionPrefix(name, v2.version) })).objects).toEqual([])
    expect((await checkVersion(env.INDEX, name, v1.version)).problem).toBeUndefined()
    expect((await checkVersion(env.INDEX, name, v3.version)).problem).toBeUndefined()
    expect((await search(testEnv)).index).toBe(v1.version)

    // A complete-looking version with an object gone is refused too.
    await env.INDEX.delete(keys.versionPrefix(name, v3.version) + manifestOf(v3).shards[0].key)
    await expect(rollback(env.INDEX, name, 'current', v3.version)).rejects.toThrow(/cannot be served: missing shards\//)
    expect(await pointerVersion(name)).toBe(v1.version)
  })
})
