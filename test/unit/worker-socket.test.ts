import { createServer, type Server } from 'node:http'
import { existsSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listeningPorts } from '../../scripts/load.ts'
import { workerSocketUrl } from '../../scripts/bench/worker-socket.ts'

// Reads /proc: what `gdr bench` runs on (Linux); elsewhere it finds nothing and stays on wrangler's port.
const linux = existsSync('/proc/net/tcp')

describe.runIf(linux)("finding the Worker's own socket among a process's listening ports", () => {
  const servers: Server[] = []
  const listen = (handler: Parameters<typeof createServer>[1]) =>
    new Promise<number>((resolve) => {
      const server = createServer(handler).listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port))
      servers.push(server)
    })
  let other: number
  let worker: number
  beforeAll(async () => {
    other = await listen((_, res) => res.writeHead(500).end('Not yet implemented')) // like miniflare's loopback service
    worker = await listen((req, res) => (req.url === '/healthz' ? res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}') : res.writeHead(404).end()))
  })
  afterAll(() => servers.forEach((s) => s.close()))

  it('lists the ports this process listens on', () => {
    expect(listeningPorts(process.pid)).toEqual(expect.arrayContaining([other, worker]))
    expect(listeningPorts(2 ** 22 + 1)).toEqual([]) // no such process
  })

  it('picks the one that answers /healthz as the Worker does, and none when no port does', async () => {
    expect(await workerSocketUrl([process.pid])).toBe(`http://127.0.0.1:${worker}`)
    expect(await workerSocketUrl([])).toBeUndefined()
  })
})
