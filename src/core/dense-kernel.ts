// The fine, dense step's inner loop in WebAssembly SIMD (dense-kernel.wat): q·v
// times the row's scale for every int8 row of a shard. It sums in the order the
// .wat states, so the Worker (which imports the precompiled module) and Node
// (which compiles the same file) score every document to the same bits.
// npm 186K, the 5,736 documents the Worker scores a query, in Node: the dot
// products took 1.4–1.7 ms in plain JS (four running sums), 0.4–0.6 ms here with
// the copies in and out; all of scoring 1.41 → 0.71 ms (.tmp/scoreprof.mts).

export interface DenseKernel {
  /** out[r] = (query · vectors[r·dims …]) · scales[r] for every row r (dims = query.length). */
  scoreRows(query: Float32Array, vectors: Int8Array, scales: Float32Array, out: Float64Array): void
}

interface KernelExports {
  memory: WebAssembly.Memory
  scoreRows(q: number, v: number, scales: number, out: number, rows: number, dims: number): void
}

const PAGE = 65536
const align16 = (n: number) => (n + 15) & ~15

/**
 * An instance of the compiled kernel with its own memory (one 64 KiB page,
 * grown to the largest shard it has scored). Synchronous and not reentrant:
 * each call copies its inputs in and its scores out.
 */
export function denseKernel(module: WebAssembly.Module): DenseKernel {
  const exports = new WebAssembly.Instance(module, {}).exports as unknown as KernelExports
  const { memory } = exports
  return {
    scoreRows(query, vectors, scales, out) {
      const dims = query.length
      const rows = scales.length
      if (vectors.length !== rows * dims) throw new Error(`dense kernel: ${rows} rows × ${dims} dims expected, got ${vectors.length} values`)
      if (out.length < rows) throw new Error(`dense kernel: room for ${rows} scores expected, got ${out.length}`)
      // Layout: query (float64), scales (float32), scores (float64), vectors (int8).
      const scalesAt = align16(dims * 8)
      const outAt = align16(scalesAt + rows * 4)
      const vectorsAt = align16(outAt + rows * 8)
      const needed = vectorsAt + rows * dims
      if (needed > memory.buffer.byteLength) memory.grow(Math.ceil((needed - memory.buffer.byteLength) / PAGE))
      const { buffer } = memory
      new Float64Array(buffer, 0, dims).set(query)
      new Float32Array(buffer, scalesAt, rows).set(scales)
      new Int8Array(buffer, vectorsAt, rows * dims).set(vectors)
      exports.scoreRows(0, vectorsAt, scalesAt, outAt, rows, dims)
      out.set(new Float64Array(buffer, outAt, rows))
    },
  }
}
