// The Worker isolate's own memory under `wrangler dev`, as opposed to the
// workerd process's RSS (which holds the whole runtime, and wrangler's R2
// simulator with its files). V8's heap figures come from the inspector that
// `wrangler dev --inspector-port` exposes (Chrome DevTools Protocol,
// Runtime.getHeapUsage, after HeapProfiler.collectGarbage); the kernels'
// WebAssembly memory, which V8 does not count there, and the shard cache's bytes
// come from the Worker's GET /v1/index.

export interface IsolateMemory {
  /** Live objects of the V8 heap, bytes (after the collections isolateMemory asks for). */
  heapUsedBytes: number
  /** The V8 heap's reserved size, bytes. */
  heapTotalBytes: number
  /** ArrayBuffer backing stores and external strings (shard buffers live here), bytes. */
  backingStoreBytes: number
  /** The WebAssembly kernels' memories (scoring, routing, the model's prior), bytes. */
  wasmMemoryBytes?: number
  /** The shard cache's budgeted bytes (decodedShardBytes; inside backingStoreBytes and the heap). */
  shardCacheBytes?: number
  /** Whether the inspector confirmed a collection (wrangler's proxy usually drops the reply). */
  collected: boolean
}

/** heapUsed + backing stores + the kernels' WebAssembly memory: what the isolate holds, MiB. */
export const isolateTotalMiB = (m: IsolateMemory) => (m.heapUsedBytes + m.backingStoreBytes + (m.wasmMemoryBytes ?? 0)) / 1048576

interface CdpReply {
  id?: number
  result?: Record<string, unknown>
  error?: { message: string }
}

/** One CDP session with the Worker through wrangler's inspector proxy (it wants an Origin header). */
async function withInspector<T>(inspectorPort: number, work: (call: (method: string, timeoutMs?: number) => Promise<CdpReply>) => Promise<T>): Promise<T> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as { webSocketDebuggerUrl: string }[]
  if (!targets[0]) throw new Error(`no inspector target on port ${inspectorPort}`)
  // Node's WebSocket (undici) takes headers as a non-standard init field.
  const ws = new WebSocket(targets[0].webSocketDebuggerUrl, { headers: { Origin: `http://127.0.0.1:${inspectorPort}` } } as unknown as string[])
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve())
    ws.addEventListener('error', () => reject(new Error(`cannot open the inspector on port ${inspectorPort}`)))
  })
  const pending = new Map<number, (reply: CdpReply) => void>()
  ws.addEventListener('message', (event: { data: unknown }) => {
    const reply = JSON.parse(String(event.data)) as CdpReply
    if (reply.id !== undefined) pending.get(reply.id)?.(reply)
  })
  let next = 0
  const call = (method: string, timeoutMs = 10_000) =>
    new Promise<CdpReply>((resolve, reject) => {
      const id = ++next
      const timer = setTimeout(() => {
        pending.delete(id)
        reject(new Error(`${method}: no answer from the inspector within ${timeoutMs} ms`))
      }, timeoutMs)
      pending.set(id, (reply) => {
        clearTimeout(timer)
        pending.delete(id)
        resolve(reply)
      })
      ws.send(JSON.stringify({ id, method, params: {} }))
    })
  try {
    return await work(call)
  } finally {
    ws.close()
  }
}

/**
 * Asks for two full collections. wrangler's inspector proxy forwards
 * HeapProfiler.collectGarbage but usually drops the reply, so a missing one is
 * not an error; returns whether any reply confirmed a collection.
 */
async function collectGarbage(call: (method: string, timeoutMs?: number) => Promise<CdpReply>): Promise<boolean> {
  let confirmed = false
  for (let i = 0; i < 2; i++) confirmed = (await call('HeapProfiler.collectGarbage', 1500).then((reply) => !reply.error, () => false)) || confirmed
  return confirmed
}

/** Readings isolateMemory takes at most while none follows a confirmed collection. */
export const MEMORY_READINGS = 3

/**
 * What the isolate keeps: the first reading after a confirmed collection, else the
 * smallest of MEMORY_READINGS (uncollected garbage only adds: one 1M run read 131 MiB
 * with no collection confirmed, the next 68.5 MiB with one).
 */
export async function isolateMemory(baseUrl: string, inspectorPort: number, read = readIsolateMemory): Promise<IsolateMemory> {
  let smallest: IsolateMemory | undefined
  for (let reading = 0; reading < MEMORY_READINGS; reading++) {
    const memory = await read(baseUrl, inspectorPort)
    if (memory.collected) return memory
    if (!smallest || isolateTotalMiB(memory) < isolateTotalMiB(smallest)) smallest = memory
  }
  return smallest!
}

async function readIsolateMemory(baseUrl: string, inspectorPort: number): Promise<IsolateMemory> {
  // Collect, run one small request, collect again, then read: measured, a burst of searches
  // leaves garbage that only the collection after a later request frees (npm 186K after 100
  // distinct queries: 104-106 MB read at once, 65 MB this way; more rounds change nothing).
  await withInspector(inspectorPort, collectGarbage)
  await (await fetch(`${baseUrl}/v1/index`)).arrayBuffer()
  const { heap, collected } = await withInspector(inspectorPort, async (call) => {
    const collected = await collectGarbage(call)
    await new Promise((resolve) => setTimeout(resolve, 500))
    const usage = await call('Runtime.getHeapUsage')
    if (!usage.result) throw new Error(`Runtime.getHeapUsage failed: ${usage.error?.message}`)
    return { heap: usage.result as { usedSize: number; totalSize: number; backingStorageSize?: number }, collected }
  })
  const index = (await (await fetch(`${baseUrl}/v1/index`)).json()) as { isolate?: { wasmMemoryBytes: number; shardCacheBytes: number } }
  return {
    heapUsedBytes: heap.usedSize,
    heapTotalBytes: heap.totalSize,
    backingStoreBytes: heap.backingStorageSize ?? 0,
    wasmMemoryBytes: index.isolate?.wasmMemoryBytes,
    shardCacheBytes: index.isolate?.shardCacheBytes,
    collected,
  }
}
