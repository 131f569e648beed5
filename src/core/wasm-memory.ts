// Laying out and growing the linear memory of the WebAssembly kernels (dense-kernel.ts,
// the lexical kernel in lexical.ts): one way, so both wrappers agree.

const PAGE = 65536

/** `n` rounded up to a multiple of 16: every region starts aligned for any typed view (and v128 loads). */
export const align16 = (n: number) => (n + 15) & ~15

/** The memory's buffer, grown first to hold at least `bytes` (growing detaches views made before). */
export function bufferOf(memory: WebAssembly.Memory, bytes: number): ArrayBuffer {
  if (bytes > memory.buffer.byteLength) memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / PAGE))
  return memory.buffer
}
