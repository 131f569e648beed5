// The search response's Server-Timing header (src/worker/server-timing.ts): where the Worker's time went.
import { env } from 'cloudflare:workers'
import { beforeAll, describe, expect, inject, it } from 'vitest'
import { publishIndex, putIndex } from './fixtures.ts'
import { postJson, viaWorker, withEnv } from './http.ts'

const index = inject('tinyIndex')

beforeAll(async () => {
  await putIndex(env.INDEX, index)
})

const LOAD_STEP = /^load-(pointer|manifest|parse|model|verify|centroids|runtime)$/

function stages(header: string | null): Record<string, number> {
  expect(header).toMatch(/^index;dur=\d+, model;dur=\d+, route;dur=\d+, r2;dur=\d+, score;dur=\d+, total;dur=\d+(, load-[a-z]+;dur=\d+)*$/)
  return Object.fromEntries(header!.split(', ').map((entry) => [entry.split(';')[0], Number(entry.split('dur=')[1])]))
}

describe('Server-Timing', () => {
  it('every search answer says how long the index, the model, routing, the shard reads and the scoring took', async () => {
    for (const response of [await viaWorker('/search?q=bread&k=3'), await viaWorker('/search', postJson({ q: 'stars', k: 2 }))]) {
      expect(response.status).toBe(200)
      const t = stages(response.headers.get('server-timing'))
      expect(t.total).toBe(t.index + t.model + t.route + t.r2 + t.score)
      const body = (await response.json()) as { took_ms: number }
      // took_ms also counts building the results list, after the score stage's clock reading.
      expect(body.took_ms - (t.model + t.route + t.r2 + t.score)).toBeGreaterThanOrEqual(0)
      expect(body.took_ms - (t.model + t.route + t.r2 + t.score)).toBeLessThanOrEqual(1)
    }
  })

  it('the request that waited for the index load also gets its steps; later ones do not', async () => {
    // A fresh pointer name: this isolate has not loaded it, so the first search waits for the load.
    const pointer = `timing${Date.now()}`
    await publishIndex(env.INDEX, index, { pointer })
    const call = withEnv({ INDEX_POINTER: pointer })
    const first = stages((await call('/search?q=bread&k=3')).headers.get('server-timing'))
    const steps = Object.keys(first).filter((name) => name.startsWith('load-'))
    expect(steps.every((name) => LOAD_STEP.test(name))).toBe(true)
    expect(steps).toEqual(expect.arrayContaining(['load-pointer', 'load-manifest', 'load-parse', 'load-model', 'load-verify', 'load-centroids', 'load-runtime']))
    // Serial steps of the load lie within it (the model's GET runs beside the manifest's and the parse, so it is not one of them).
    expect(first['load-pointer'] + first['load-manifest'] + first['load-parse'] + first['load-verify'] + first['load-runtime']).toBeLessThanOrEqual(first.index)
    const again = stages((await call('/search?q=bread&k=3')).headers.get('server-timing'))
    expect(Object.keys(again).some((name) => name.startsWith('load-'))).toBe(false)
  })

  it('errors carry none', async () => {
    const response = await viaWorker('/search?q=')
    expect(response.status).toBe(400)
    expect(response.headers.get('server-timing')).toBeNull()
  })
})
