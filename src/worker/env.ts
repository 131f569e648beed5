// Bindings and settings the Worker reads from wrangler.toml (vars) and secrets.

export interface Env {
  /** R2 bucket holding index versions and the pointers to them. */
  INDEX: R2Bucket
  /** Which index in the bucket to serve (R2 prefix); "default" unless set. */
  INDEX_NAME?: string
  /** Which pointer of that index names the version to serve: "current" (production) unless set; preview reads "preview". */
  INDEX_POINTER?: string
  /** How often, at most, the pointer is re-read to pick up a new version (seconds, may be fractional); 5 unless set. */
  POINTER_TTL_SECONDS?: string
}

export const DEFAULT_INDEX_NAME = 'default'
export const DEFAULT_POINTER_TTL_SECONDS = 5
