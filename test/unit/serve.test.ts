// `gdr serve` (and eval, bench, demo) start wrangler dev with this environment; a busy port
// is an error before anything starts, and a stop asked for with Ctrl-C is a normal end.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { createServer, type AddressInfo, type Server } from 'node:net'
import { join } from 'node:path'
import { devServerEnv } from '../../scripts/serve.ts'
import { PROJECT_ROOT } from '../../scripts/local-r2.ts'
import { runGdr } from './run-gdr.ts'

describe('the dev server environment', () => {
  it('turns wrangler\'s per-request local observability off unless the caller chose', () => {
    expect(devServerEnv({ PATH: '/bin' })).toEqual({ PATH: '/bin', WRANGLER_SEND_METRICS: 'false', X_LOCAL_OBSERVABILITY: 'false' })
    expect(devServerEnv({ X_LOCAL_OBSERVABILITY: 'true' }).X_LOCAL_OBSERVABILITY).toBe('true')
  })
})

async function listening(): Promise<{ server: Server; port: number }> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, port: (server.address() as AddressInfo).port }
}

describe('serving on a port', () => {
  let busy: { server: Server; port: number }
  beforeAll(async () => (busy = await listening()))
  afterAll(() => new Promise<void>((resolve) => busy.server.close(() => resolve())))

  it('refuses a port something already listens on, before starting wrangler or building the demo', async () => {
    for (const command of ['serve', 'demo']) {
      const started = Date.now()
      const { code, stderr } = await runGdr([command, '--port', String(busy.port)])
      expect(code, command).toBe(1)
      expect(stderr, command).toContain(`port ${busy.port} on 127.0.0.1 is already in use`)
      expect(Date.now() - started, command).toBeLessThan(5000)
    }
  })

  it('ends with exit code 0 when stopped with Ctrl-C', async () => {
    const { server, port } = await listening()
    await new Promise<void>((resolve) => server.close(() => resolve()))
    // Its own process group, as a terminal's Ctrl-C reaches gdr, wrangler and workerd together.
    const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'gdr.js'), 'serve', '--port', String(port), '--name', 'serve-test'], { cwd: PROJECT_ROOT, detached: true, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr!.on('data', (chunk) => (stderr = (stderr + chunk).slice(-2000)))
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    const deadline = Date.now() + 90_000
    let up = false
    while (!up && Date.now() < deadline) {
      up = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false)
      if (!up) await new Promise((r) => setTimeout(r, 250))
    }
    expect(up, stderr).toBe(true)
    process.kill(-child.pid!, 'SIGINT')
    expect(await exited, stderr).toBe(0)
  }, 120_000)

  it('gdr load names the address it cannot reach and how to start a Worker there', async () => {
    const { server, port } = await listening()
    await new Promise<void>((resolve) => server.close(() => resolve()))
    const { code, stderr } = await runGdr(['load', '--url', `http://127.0.0.1:${port}`, '--rounds', '1', '--requests', '1'])
    expect(code).toBe(1)
    expect(stderr).toContain(`cannot reach http://127.0.0.1:${port}`)
    expect(stderr).toContain('gdr serve')
  })
})
