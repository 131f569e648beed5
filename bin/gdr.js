#!/usr/bin/env node
// The `gdr` CLI. The sources are TypeScript; tsx compiles them on the fly, so the
// CLI runs from a fresh clone with no build step.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { totalmem } from 'node:os'
import { fileURLToPath } from 'node:url'
import { getHeapStatistics } from 'node:v8'
import { heapFlag } from './heap.js'

// wrangler (serve, publish) needs Node 22+. On an older Node, re-run under the
// Node 22 that the `node` devDependency installs into node_modules.
const major = Number(process.versions.node.split('.')[0])
const node22 = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url))
const node = major < 22 && existsSync(node22) ? node22 : process.execPath

// A large build needs more than Node's default heap (bin/heap.js).
const heap = heapFlag({ execArgv: process.execArgv, nodeOptions: process.env.NODE_OPTIONS, totalBytes: totalmem(), heapLimitBytes: getHeapStatistics().heap_size_limit })

if (node !== process.execPath || heap) {
  const flags = heap ? [heap] : []
  const child = spawn(node, [...process.execArgv, ...flags, ...process.argv.slice(1)], { stdio: 'inherit' })
  // Signals sent to this process reach the child too, so stopping gdr stops wrangler.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal))
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
} else {
  const { register } = await import('tsx/esm/api')
  register()
  const { main } = await import('../scripts/cli.ts')
  process.exitCode = await main(process.argv)
}
