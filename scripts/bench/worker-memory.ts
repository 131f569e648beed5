// Memory of the process that runs the Worker under `wrangler dev`, from Linux
// /proc (as `gdr load` reads it). workerd does not report an isolate's heap, so
// the process is the best available measure: it includes the runtime itself
// (a fixed few hundred MiB), hence the growth over a fresh process is reported too.

import { readStatus, servingProcesses } from '../load.ts'

export interface WorkerProcesses {
  /** wrangler's proxy: listens on the port, forwards to the Worker. */
  proxy?: number
  /** The workerd process(es) running the Worker (usually one). */
  worker: number[]
}

export function workerProcesses(port: number): WorkerProcesses {
  const [proxy, ...worker] = servingProcesses(port)
  // An unexpected layout (one process): measure the listener itself.
  return proxy === undefined ? { worker: [] } : { proxy, worker: worker.length ? worker : [proxy] }
}

const sumMiB = (pids: readonly number[], field: 'VmRSS' | 'VmHWM') => {
  const kib = pids.map((pid) => readStatus(pid, field))
  return kib.some((k) => k === undefined) || pids.length === 0 ? undefined : kib.reduce((a, b) => a! + b!, 0)! / 1024
}

/** Resident memory now, MiB; undefined off Linux or when the process is gone. */
export const rssMiB = (pids: readonly number[]) => sumMiB(pids, 'VmRSS')
/** The kernel's high-water mark of resident memory over the process's life, MiB. */
export const peakRssMiB = (pids: readonly number[]) => sumMiB(pids, 'VmHWM')
