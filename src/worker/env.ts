// Bindings and settings the Worker reads from wrangler.toml (vars) and secrets.
// Vars arrive as strings; settings.ts parses and checks them.

/** What the Worker may do with R2: read. Writing is the publisher's job, so the type has no put or delete. */
export type ReadOnlyBucket = Pick<R2Bucket, 'get' | 'head' | 'list'>

export interface Env {
  /** R2 bucket holding index versions and the pointers to them. */
  INDEX: ReadOnlyBucket
  /** Which index in the bucket to serve (R2 prefix); "default" unless set. */
  INDEX_NAME?: string
  /** Which pointer of that index names the version to serve: "current" (production) unless set; preview reads "preview". */
  INDEX_POINTER?: string
  /** How often, at most, the pointer is re-read to pick up a new version (seconds, may be fractional); 5 unless set. */
  POINTER_TTL_SECONDS?: string
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
export const DEFAULT_POINTER_TTL_SECONDS = 5
