// Instantiating the WebAssembly kernels (dense-kernel.ts, the lexical kernel in
// lexical.ts), and laying out and growing their linear memory: one way, so both
// wrappers agree, and one count of what they hold.

const PAGE = 65536

/** `n` rounded up to a multiple of 16: every region starts aligned for any typed view (and v128 loads). */
export const align16 = (n: number) => (n + 15) & ~15

/** The memory's buffer, grown first to hold at least `bytes` (growing detaches views made before). */
export function bufferOf(memory: WebAssembly.Memory, bytes: number): ArrayBuffer {
  if (bytes > memory.buffer.byteLength) memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / PAGE))
  return memory.buffer
}

// Every kernel instance's memory, for wasmMemoryBytes: weakly, so an instance of a
// replaced index version is still collected.
const memories = new Set<WeakRef<WebAssembly.Memory>>()

/** A kernel instance's exports, its memory now counted by wasmMemoryBytes. */
export function instantiateKernel<T extends { memory: WebAssembly.Memory }>(module: WebAssembly.Module): T {
  const exports = new WebAssembly.Instance(module, {}).exports as unknown as T
  // Collected instances leave their entries behind: dropped here too, so the set stays small whether or not anyone asks.
  wasmMemoryBytes()
  memories.add(new WeakRef(exports.memory))
  return exports
}

/** Bytes of the live kernel instances' memories (V8's heap figures do not count WebAssembly memory); drops the entries of collected ones. */
export function wasmMemoryBytes(): number {
  let bytes = 0
  for (const ref of memories) {
    const memory = ref.deref()
    if (memory) bytes += memory.buffer.byteLength
    else memories.delete(ref)
  }
  return bytes
}
