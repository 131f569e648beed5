// The search response's Server-Timing header (src/worker/server-timing.ts): where the Worker's time went.
import { env } from 'cloudflare:workers'
import { beforeAll, describe, expect, inject, it } from 'vitest'
import { putIndex } from './fixtures.ts'
import { postJson, viaWorker } from './http.ts'

const index = inject('tinyIndex')

beforeAll(async () => {
  await putIndex(env.INDEX, index)
})

function stages(header: string | null): Record<string, number> {
  expect(header).toMatch(/^index;dur=\d+, model;dur=\d+, r2;dur=\d+, score;dur=\d+, total;dur=\d+$/)
  return Object.fromEntries(header!.split(', ').map((entry) => [entry.split(';')[0], Number(entry.split('dur=')[1])]))
}

describe('Server-Timing', () => {
  it('every search answer says how long the index, the model, the shard reads and the scoring took', async () => {
    for (const response of [await viaWorker('/search?q=bread&k=3'), await viaWorker('/search', postJson({ q: 'stars', k: 2 }))]) {
      expect(response.status).toBe(200)
      const t = stages(response.headers.get('server-timing'))
      expect(t.total).toBe(t.index + t.model + t.r2 + t.score)
      const body = (await response.json()) as { took_ms: number }
      // took_ms also counts building the results list, after the score stage's clock reading.
      expect(body.took_ms - (t.model + t.r2 + t.score)).toBeGreaterThanOrEqual(0)
      expect(body.took_ms - (t.model + t.r2 + t.score)).toBeLessThanOrEqual(1)
    }
  })

  it('errors carry none', async () => {
    const response = await viaWorker('/search?q=')
    expect(response.status).toBe(400)
    expect(response.headers.get('server-timing')).toBeNull()
  })
})
