// `gdr serve` (and eval, bench, demo) start wrangler dev with this environment.
import { describe, expect, it } from 'vitest'
import { devServerEnv } from '../../scripts/serve.ts'

describe('the dev server environment', () => {
  it('turns wrangler\'s per-request local observability off unless the caller chose', () => {
    expect(devServerEnv({ PATH: '/bin' })).toEqual({ PATH: '/bin', WRANGLER_SEND_METRICS: 'false', X_LOCAL_OBSERVABILITY: 'false' })
    expect(devServerEnv({ X_LOCAL_OBSERVABILITY: 'true' }).X_LOCAL_OBSERVABILITY).toBe('true')
  })
})
