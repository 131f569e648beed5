// The Worker's own HTTP socket under `wrangler dev`. wrangler listens on the
// public port with a proxy (a second workerd) that forwards every request to the
// workerd running the Worker; that hop costs several ms per request (npm 186K,
// session 3: /healthz 7.1 ms through it) and does not exist in production, so
// the benchmark times the Worker on its own socket when it can find it.

import { listeningPorts } from '../load.ts'

/**
 * The URL of the socket, among the ones the Worker's processes listen on, that
 * answers GET /healthz as this Worker does; undefined when none does (off Linux,
 * or another wrangler layout): the caller then stays on wrangler's port.
 */
export async function workerSocketUrl(workerPids: readonly number[]): Promise<string | undefined> {
  for (const pid of workerPids) {
    for (const port of listeningPorts(pid)) {
      const url = `http://127.0.0.1:${port}`
      try {
        const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) })
        const body = (await response.json()) as { ok?: unknown }
        if (response.ok && body.ok === true) return url
      } catch {
        // not HTTP, or not our Worker (the inspector, miniflare's loopback service)
      }
    }
  }
  return undefined
}
