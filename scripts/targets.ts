// Where the publish/versions/rollback/gc commands act: the local R2 of
// `wrangler dev` or the real bucket, for one wrangler environment. The
// environment decides the bucket (its INDEX binding) and the index name and
// pointer its Worker reads (vars INDEX_NAME, INDEX_POINTER), all from wrangler.toml.

import { DEFAULT_POINTER } from '../src/core/manifest.ts'
import type { ObjectStore } from '../src/core/object-store.ts'
import { withLocalBucket, WRANGLER_CONFIG } from './local-r2.ts'
import { R2_ENV, s3ConfigFromEnv, S3Store } from './s3-store.ts'

export class TargetError extends Error {
  override name = 'TargetError'
}

export interface TargetOptions {
  local?: boolean
  remote?: boolean
  /** wrangler environment, e.g. "preview"; none = production (top level). */
  env?: string
}

export interface Target {
  remote: boolean
  env?: string
  bucket: string
  /** What the environment's Worker serves. */
  indexName: string
  pointer: string
  /** For messages: "local R2 gdr-index (env preview)". */
  label: string
}

const DEFAULT_INDEX_NAME = 'default'

export async function resolveTarget(options: TargetOptions): Promise<Target> {
  if (options.local && options.remote) throw new TargetError('choose one of --local and --remote')
  const { unstable_readConfig } = await import('wrangler')
  // wrangler's own message for an unknown environment is a page long: check first.
  const defined = unstable_readConfig({ config: WRANGLER_CONFIG }, { hideWarnings: true }).definedEnvironments ?? []
  if (options.env && !defined.includes(options.env)) {
    throw new TargetError(`wrangler.toml has no [env.${options.env}] (defined: ${defined.join(', ') || 'none'})`)
  }
  const config = unstable_readConfig({ config: WRANGLER_CONFIG, env: options.env }, { hideWarnings: true })
  const bucket = (config.r2_buckets as { binding: string; bucket_name?: string }[]).find((b) => b.binding === 'INDEX')?.bucket_name
  if (!bucket) throw new TargetError(`wrangler.toml${options.env ? ` [env.${options.env}]` : ''} binds no R2 bucket as INDEX`)
  const vars = config.vars as Record<string, unknown>
  const remote = Boolean(options.remote)
  return {
    remote,
    env: options.env,
    bucket,
    indexName: typeof vars.INDEX_NAME === 'string' && vars.INDEX_NAME ? vars.INDEX_NAME : DEFAULT_INDEX_NAME,
    pointer: typeof vars.INDEX_POINTER === 'string' && vars.INDEX_POINTER ? vars.INDEX_POINTER : DEFAULT_POINTER,
    label: `${remote ? 'remote' : 'local'} R2 ${bucket}${options.env ? ` (env ${options.env})` : ''}`,
  }
}

/** The remote store, or why it cannot be opened (missing credentials). */
export function remoteStore(target: Target, environ: NodeJS.ProcessEnv = process.env): S3Store | { missing: string[] } {
  const config = s3ConfigFromEnv(target.bucket, environ)
  return 'missing' in config ? config : new S3Store(config)
}

export async function withStore<T>(target: Target, work: (store: ObjectStore) => Promise<T>): Promise<T> {
  if (!target.remote) return withLocalBucket(work, target.env)
  const store = remoteStore(target)
  if ('missing' in store) {
    throw new TargetError(
      `--remote needs ${store.missing.join(', ')} in the environment (an R2 API token with Object Read & Write; ${R2_ENV.endpoint} may replace ${R2_ENV.accountId})`,
    )
  }
  return work(store)
}
