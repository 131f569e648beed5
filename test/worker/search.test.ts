// The Worker over HTTP inside workerd, against a real index in its R2 binding.
import { env, exports } from 'cloudflare:workers'
import { beforeAll, describe, expect, inject, it } from 'vitest'
import { manifestOf, putIndex } from './fixtures.ts'
import { searchForK } from '../../src/core/search.ts'

const index = inject('tinyIndex')
const manifest = manifestOf(index)

interface SearchBody {
  results: { id: string; title: string; snippet: string; score: number }[]
  clusters: { cid: number[]; prob: number; docs: number }[]
  index: string
  took_ms: number
}

async function get(path: string): Promise<Response> {
  return exports.default.fetch(`https://gdr.test${path}`)
}

async function searchFor(q: string, k = 5): Promise<SearchBody> {
  const response = await get(`/search?q=${encodeURIComponent(q)}&k=${k}`)
  expect(response.status).toBe(200)
  return response.json()
}

beforeAll(async () => {
  await putIndex(env.INDEX, index)
})

describe('GET /healthz', () => {
  it('answers 200', async () => {
    const response = await get('/healthz')
    expect(response.status).toBe(200)
  })
})

describe('search', () => {
  it('finds each document first when queried with its own title', async () => {
    const titles = index.titles
    let first = 0
    for (const [id, title] of Object.entries(titles)) {
      const body = await searchFor(title)
      if (body.results[0]?.id === id) first++
      else expect.soft(body.results[0]?.id, `query "${title}"`).toBe(id)
    }
    expect(first).toBe(Object.keys(titles).length)
  })

  it('returns k results, best first, only ids that exist in the index, with the index version', async () => {
    const known = new Set(Object.keys(index.titles))
    for (const q of ['bread', 'stars and galaxies', 'a query about nothing in particular', 'zzzzqqq', '🙂']) {
      const body = await searchFor(q, 7)
      expect(body.index).toBe(manifest.version)
      expect(body.results.length).toBeLessThanOrEqual(7)
      for (const r of body.results) expect(known.has(r.id)).toBe(true)
      for (let i = 1; i < body.results.length; i++) expect(body.results[i].score).toBeLessThanOrEqual(body.results[i - 1].score)
      expect(body.clusters.length).toBeGreaterThan(0)
      for (const c of body.clusters) expect(manifest.shards.some((s) => s.cid.join('-') === c.cid.join('-'))).toBe(true)
    }
    expect((await searchFor('bread', 7)).results.length).toBe(7)
  })

  it('reads clusters until the probe budget for its k is covered: the index\'s up to 10, more for a larger k', async () => {
    for (const q of ['bread', 'stars and galaxies']) {
      for (const k of [5, 40]) {
        const budget = searchForK(manifest, k).probeDocs
        const { clusters } = await searchFor(q, k)
        const covered = clusters.reduce((n, c) => n + c.docs, 0)
        expect(covered >= budget || clusters.length === manifest.shards.length, `k=${k}: ${covered} of ${budget} documents`).toBe(true)
        expect(covered - clusters[clusters.length - 1].docs).toBeLessThan(budget)
      }
    }
    expect(searchForK(manifest, 40).probeDocs).toBeGreaterThan(manifest.search.probeDocs)
  })

  it('accepts POST with a JSON body', async () => {
    const response = await exports.default.fetch('https://gdr.test/search', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ q: 'pruning apple trees', k: 3 }),
    })
    expect(response.status).toBe(200)
    const body: SearchBody = await response.json()
    expect(body.results.length).toBe(3)
    expect(body.results[0].id).toBe('garden-2')
  })

  it('rejects bad parameters with a JSON 400', async () => {
    for (const path of ['/search', '/search?q=', '/search?q=%20%20', '/search?q=x&k=0', '/search?q=x&k=101', '/search?q=x&k=2.5', `/search?q=${'a'.repeat(1001)}`]) {
      const response = await get(path)
      expect(response.status, path).toBe(400)
      const body = (await response.json()) as { error: { code: string; message: string } }
      expect(body.error.code).toBe('bad_request')
    }
  })
})

describe('GET /v1/index: what the isolate holds', () => {
  it('the kernels\' WebAssembly memory and the shard cache, once a search has run', async () => {
    await searchFor('bread')
    const response = await get('/v1/index')
    expect(response.status).toBe(200)
    const body = (await response.json()) as { isolate: { wasmMemoryBytes: number; shardCacheBytes: number; shardsCached: number } }
    // WebAssembly memory comes in 64 KiB pages, a page at least for each instance: scoring, lexical routing, and the model's prior, the leaf centroids' and the part centroids' resident rows.
    expect(body.isolate.wasmMemoryBytes).toBeGreaterThanOrEqual(5 * 65536)
    expect(body.isolate.wasmMemoryBytes % 65536).toBe(0)
    expect(body.isolate.shardsCached).toBeGreaterThan(0)
    expect(body.isolate.shardCacheBytes).toBeGreaterThan(0)
  })
})
