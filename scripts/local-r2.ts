// The local R2 bucket that `wrangler dev` serves, opened from Node through
// wrangler's own platform proxy: same wrangler.toml, same state folder
// (.wrangler/state), so `wrangler r2 object get --local` sees what we write.

import { fileURLToPath } from 'node:url'
import type { ObjectStore } from './publish.ts'

export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url))
export const WRANGLER_CONFIG = fileURLToPath(new URL('../wrangler.toml', import.meta.url))

export async function withLocalBucket<T>(work: (bucket: ObjectStore) => Promise<T>): Promise<T> {
  const { getPlatformProxy } = await import('wrangler')
  const proxy = await getPlatformProxy<{ INDEX: ObjectStore }>({ configPath: WRANGLER_CONFIG })
  try {
    return await work(proxy.env.INDEX)
  } finally {
    await proxy.dispose()
  }
}
