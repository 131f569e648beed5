// Bindings and settings the Worker reads from wrangler.toml (vars) and secrets.
// Vars arrive as strings; settings.ts parses and checks them.

/** What the Worker may do with R2: read. Writing is the publisher's job, so the type has no put or delete. */
export type ReadOnlyBucket = Pick<R2Bucket, 'get' | 'head' | 'list'>

export interface Env {
  /** R2 bucket holding index versions and the pointer to the current one. */
  INDEX: ReadOnlyBucket
  /** Which index in the bucket to serve (R2 prefix); "default" unless set. */
  INDEX_NAME?: string
  /** Secret. When set (non-empty), every route but /healthz needs `Authorization: Bearer <key>`. */
  SEARCH_API_KEY?: string
  /** Origins allowed by CORS: "*" or a comma-separated list of origins. */
  CORS_ORIGINS?: string
  /** Longest query accepted, in Unicode code points after trimming. */
  MAX_QUERY_CHARS?: string
  /** Deadline for reading one shard from R2; a shard that misses it is skipped. */
  SHARD_TIMEOUT_MS?: string
}

export const DEFAULT_INDEX_NAME = 'default'
