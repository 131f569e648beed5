import { cloudflareTest } from '@cloudflare/vitest-plugin'
import { defineConfig } from 'vitest/config'

// One `vitest run`, two projects: the shared core and the build in Node, and the
// Worker inside workerd (the real runtime, real CompiledWasm imports of the kernels).
export default defineConfig({
  test: {
    projects: [
      {
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], environment: 'node', testTimeout: 60_000 },
      },
      {
        plugins: [cloudflareTest({ wrangler: { configPath: './wrangler.toml' } })],
        test: {
          name: 'worker',
          include: ['test/worker/**/*.test.ts'],
          // Builds a tiny index in Node; its files reach workerd through provide()/inject().
          globalSetup: ['./test/worker/global-setup.ts'],
          // One runner isolate for all files: the Worker's modules are loaded once per run.
          isolate: false,
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
})
