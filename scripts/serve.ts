// `gdr serve`: runs the Worker locally with `wrangler dev` against the local R2
// state, and waits until it answers.

import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
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

/**
 * wrangler's environment: no metrics (nothing outside the registries is reachable
 * anyway), and no local observability unless asked for.
 *
 * Local observability (on by default in wrangler 4.15x, X_LOCAL_OBSERVABILITY) records
 * every request's trace into SQLite with an fsync, in the Worker's own process: a
 * `hello` Worker took 2–3.5 ms a request on its socket with it and 0.8 ms without
 * (perf showed the fsync; README, Performance). Production has no such step, so
 * it is off unless the caller's environment sets the variable.
 */
export function devServerEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, WRANGLER_SEND_METRICS: 'false', X_LOCAL_OBSERVABILITY: env.X_LOCAL_OBSERVABILITY ?? 'false' }
}

/** `inspectorPort`: where wrangler exposes the Worker's DevTools inspector (default: wrangler's choice). */
export async function startDevServer(options: { port: number; indexName: string; quiet?: boolean; inspectorPort?: number }): Promise<DevServer> {
  // Whatever already answers on the port would pass the health check below as ours.
  await ensurePortFree(options.port)
  if (options.inspectorPort !== undefined) await ensurePortFree(options.inspectorPort)
  const args = [wranglerBin(), 'dev', '--config', WRANGLER_CONFIG, '--port', String(options.port), '--ip', '127.0.0.1', '--var', `INDEX_NAME:${options.indexName}`, '--show-interactive-dev-session=false']
  if (options.inspectorPort !== undefined) args.push('--inspector-port', String(options.inspectorPort))
  // process.execPath: the Node running us, which bin/gdr.js guarantees is 22+ (wrangler needs it).
  const child = spawn(process.execPath, args, {
    cwd: PROJECT_ROOT,
    stdio: options.quiet ? ['ignore', 'ignore', 'pipe'] : ['ignore', 'inherit', 'inherit'],
    env: devServerEnv(process.env),
  })
  // Stopping gdr stops wrangler too, so no orphaned server keeps the port; a stop asked for is not a failure.
  let stopAsked = false
  const stop = () => {
    stopAsked = true
    child.kill('SIGTERM')
  }
  // Held until wrangler exits: a Ctrl-C reaches this process twice when bin/gdr.js re-ran it (from the
  // terminal and forwarded), and a second one with no listener would kill it with code 130.
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  let stderr = ''
  child.stderr?.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)))
  const exited = new Promise<number>((resolve) =>
    child.once('exit', (code) => {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      resolve(stopAsked ? 0 : (code ?? 1))
    }),
  )
  const url = `http://127.0.0.1:${options.port}`
  const ready = await Promise.race([waitForHealth(url, 120_000), exited.then(() => false)])
  if (!ready) {
    child.kill('SIGTERM')
    throw new Error(`wrangler dev did not start on port ${options.port}${stderr ? `:\n${stderr.trim()}` : ''}`)
  }
  return { url, process: child, exited }
}

/** Throws when something on 127.0.0.1 already listens on `port`. */
export async function ensurePortFree(port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = createServer()
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new PortInUseError(`port ${port} on 127.0.0.1 is already in use; stop what listens there or choose another port (--port, or PORT for npm start)`) : error),
    )
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()))
  })
}

export class PortInUseError extends Error {
  override name = 'PortInUseError'
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
