// Bindings and settings the Worker reads from wrangler.toml (vars) and secrets.

export interface Env {
  /** R2 bucket holding index versions and the pointer to the current one. */
  INDEX: R2Bucket
  /** Which index in the bucket to serve (R2 prefix); "default" unless set. */
  INDEX_NAME?: string
}

export const DEFAULT_INDEX_NAME = 'default'
