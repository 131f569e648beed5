// Memory of the process that runs the Worker under `wrangler dev`, from Linux
// /proc (as `gdr load` reads it). workerd does not report an isolate's heap, so
// the process is the best available measure: it includes the runtime itself
// (a fixed few hundred MiB), hence the growth over a fresh process is reported too.

import { readFileSync } from 'node:fs'
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

/**
 * CPU time (user + system) the processes have used so far, ms, from /proc/<pid>/stat
 * (clock ticks of 10 ms on Linux); undefined off Linux or when a process is gone.
 * Unlike wall time it barely moves with other load on the machine, so the cold
 * query's CPU compares runs on a busy machine.
 */
export function cpuMs(pids: readonly number[]): number | undefined {
  let ticks = 0
  for (const pid of pids) {
    try {
      // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      ticks += Number(fields[11]) + Number(fields[12])
    } catch {
      return undefined
    }
  }
  return pids.length === 0 ? undefined : ticks * 10
}
