// `gdr serve`: runs the Worker locally with `wrangler dev` against the local R2
// state, and waits until it answers.

import { spawn, type ChildProcess } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { PROJECT_ROOT, WRANGLER_CONFIG } from './local-r2.ts'

export interface DevServer {
  url: string
  process: ChildProcess
  /** Resolves with wrangler's exit code. */
  exited: Promise<number>
}

export function wranglerBin(): string {
  // The package's exports hide bin/, so find it next to package.json.
  const packageJson = createRequire(import.meta.url).resolve('wrangler/package.json')
  return join(dirname(packageJson), 'bin', 'wrangler.js')
}

/** `inspectorPort`: where wrangler exposes the Worker's DevTools inspector (default: wrangler's choice). */
export async function startDevServer(options: { port: number; indexName: string; quiet?: boolean; inspectorPort?: number }): Promise<DevServer> {
  const args = [wranglerBin(), 'dev', '--config', WRANGLER_CONFIG, '--port', String(options.port), '--ip', '127.0.0.1', '--var', `INDEX_NAME:${options.indexName}`, '--show-interactive-dev-session=false']
  if (options.inspectorPort !== undefined) args.push('--inspector-port', String(options.inspectorPort))
  // process.execPath: the Node running us, which bin/gdr.js guarantees is 22+ (wrangler needs it).
  const child = spawn(process.execPath, args, {
    cwd: PROJECT_ROOT,
    stdio: options.quiet ? ['ignore', 'ignore', 'pipe'] : ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
  })
  // Stopping gdr stops wrangler too, so no orphaned server keeps the port.
  const stop = () => child.kill('SIGTERM')
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  let stderr = ''
  child.stderr?.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)))
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)))
  const url = `http://127.0.0.1:${options.port}`
  const ready = await Promise.race([waitForHealth(url, 120_000), exited.then(() => false)])
  if (!ready) {
    child.kill('SIGTERM')
    throw new Error(`wrangler dev did not start on port ${options.port}${stderr ? `:\n${stderr.trim()}` : ''}`)
  }
  return { url, process: child, exited }
}

async function waitForHealth(url: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${url}/healthz`)
      if (response.ok) return true
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250))
  }
  return false
}
