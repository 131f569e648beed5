// Types for the workerd tests: the bindings `env` carries and the Worker module `exports.default` is.
/// <reference types="@cloudflare/vitest-plugin/types" />
declare global {
  namespace Cloudflare {
    interface Env {
      INDEX: R2Bucket
      INDEX_NAME?: string
      INDEX_POINTER?: string
      POINTER_TTL_SECONDS?: string
      SEARCH_API_KEY?: string
      CORS_ORIGINS?: string
      MAX_QUERY_CHARS?: string
      SHARD_TIMEOUT_MS?: string
    }
    interface GlobalProps {
      mainModule: typeof import('../../src/worker/index.ts')
    }
  }
}
export {}
