// The local R2 bucket that `wrangler dev` serves, opened from Node through
// wrangler's own platform proxy: same wrangler.toml, same state folder
// (.wrangler/state), so `wrangler r2 object get --local` sees what we write.

import { fileURLToPath } from 'node:url'
import type { ObjectStore } from '../src/core/object-store.ts'

export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url))
export const WRANGLER_CONFIG = fileURLToPath(new URL('../wrangler.toml', import.meta.url))

/** `environment`: a wrangler environment (e.g. "preview") whose INDEX binding to open. */
export async function withLocalBucket<T>(work: (bucket: ObjectStore) => Promise<T>, environment?: string): Promise<T> {
  const { getPlatformProxy } = await import('wrangler')
  const proxy = await getPlatformProxy<{ INDEX: ObjectStore }>({ configPath: WRANGLER_CONFIG, environment, remoteBindings: false })
  try {
    return await work(proxy.env.INDEX)
  } finally {
    await proxy.dispose()
  }
}
