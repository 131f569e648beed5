// How much heap the CLI asks Node for. Building a large corpus holds it in memory:
// 1M documents need more than Node's default heap of ~4 GiB (session 12: the 1M
// synthetic build ran out of heap at 3.8 GiB), so the CLI re-runs itself with up
// to 3/4 of the machine's memory (at most 16 GiB), unless the caller chose a size.

const MIB = 1048576
export const MAX_HEAP_MIB = 16384

/** `--max-old-space-size=<MiB>` to add, or undefined: already chosen, or no more than the default. */
export function heapFlag({ execArgv, nodeOptions = '', totalBytes, heapLimitBytes }) {
  const chosen = [...execArgv, ...nodeOptions.split(/\s+/)].some((arg) => arg.startsWith('--max-old-space-size'))
  const wanted = Math.min(Math.floor((0.75 * totalBytes) / MIB), MAX_HEAP_MIB)
  return !chosen && wanted > heapLimitBytes / MIB + 256 ? `--max-old-space-size=${wanted}` : undefined
}
