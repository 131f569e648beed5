// Types for the workerd tests: the bindings `env` carries and the Worker module `exports.default` is.
/// <reference types="@cloudflare/vitest-plugin/types" />
declare global {
  namespace Cloudflare {
    // The Worker's settings, with the full bucket: tests write the index the Worker only reads.
    interface Env extends Omit<import('../../src/worker/env.ts').Env, 'INDEX'> {
      INDEX: R2Bucket
    }
    interface GlobalProps {
      mainModule: typeof import('../../src/worker/index.ts')
    }
  }
}
export {}
