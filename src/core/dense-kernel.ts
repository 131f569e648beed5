// The fine, dense step's inner loop in WebAssembly SIMD (dense-kernel.wat): q·v
// times the row's scale for every int8 row of a shard. It sums in the order the
// .wat states, so the Worker (which imports the precompiled module) and Node
// (which compiles the same file) score every document to the same bits.
// npm 186K, the 5,736 documents the Worker scores a query, in Node: the dot
// products took 1.4–1.7 ms in plain JS (four running sums), 0.4–0.6 ms here with
// the copies in and out; all of scoring 1.41 → 0.71 ms (.tmp/scoreprof.mts).

import { align16, bufferOf, instantiateKernel } from './wasm-memory.ts'

export interface DenseKernel {
  /** out[r] = (query · vectors[r·dims …]) · scales[r] for every row r (dims = query.length). */
  scoreRows(query: Float32Array, vectors: Int8Array, scales: Float32Array, out: Float64Array): void
  /** Rows copied into an instance of their own once, then scored against any query the same way (the same bits as scoreRows). */
  resident(vectors: Int8Array, scales: Float32Array, dims: number): ResidentRows
}

/** Rows that stay in a kernel instance's memory: each query copies in only itself. */
export interface ResidentRows {
  /** out[r] for every row r, as scoreRows would give it. */
  scoreAll(query: Float32Array, out: Float64Array): void
  /** The query copied in once, for scoring many short runs of the rows against it (a copy of it is kept: later changes to `query` do not reach it). */
  against(query: Float32Array): RowsAgainst
}

/** Resident rows and one query, for asking of one short run of rows after another. */
export interface RowsAgainst {
  /** The highest score among rows first…first + count − 1 (at least one), with the bits scoreAll gives them. */
  best(first: number, count: number): number
}

interface KernelExports {
  memory: WebAssembly.Memory
  scoreRows(q: number, v: number, scales: number, out: number, rows: number, dims: number): void
}


/**
 * An instance of the compiled kernel with its own memory (one 64 KiB page,
 * grown to the largest shard it has scored). Synchronous and not reentrant:
 * scoreRows copies its inputs in and its scores out. `resident` rows get an
 * instance of their own, so shard scoring never overwrites them, and copy in
 * only the query (`against`: once, until another query is loaded).
 */
export function denseKernel(module: WebAssembly.Module): DenseKernel {
  const { memory, scoreRows } = instance(module)
  return {
    scoreRows(query, vectors, scales, out) {
      const layout = layoutFor(memory, query.length, scales.length, vectors.length, out.length)
      const { buffer } = memory
      new Float64Array(buffer, 0, query.length).set(query)
      new Float32Array(buffer, layout.scalesAt, scales.length).set(scales)
      new Int8Array(buffer, layout.vectorsAt, vectors.length).set(vectors)
      scoreRows(0, layout.vectorsAt, layout.scalesAt, layout.outAt, scales.length, query.length)
      out.set(new Float64Array(buffer, layout.outAt, scales.length))
    },
    resident(vectors, scales, dims) {
      const own = instance(module)
      const rows = scales.length
      const layout = layoutFor(own.memory, dims, rows, vectors.length, rows)
      // Resident memory never grows after this, so these views stay valid.
      const { buffer } = own.memory
      new Float32Array(buffer, layout.scalesAt, rows).set(scales)
      new Int8Array(buffer, layout.vectorsAt, vectors.length).set(vectors)
      const queryIn = new Float64Array(buffer, 0, dims)
      const scores = new Float64Array(buffer, layout.outAt, rows)
      // Which query the memory holds: `against` scorers copy theirs in again only when another was loaded since.
      let holder: object | undefined
      const checkDims = (query: Float32Array) => {
        if (query.length !== dims) throw new Error(`dense kernel: a query of ${dims} dims expected, got ${query.length}`)
      }
      const load = (query: Float32Array, by: object) => {
        if (holder !== by) queryIn.set(query)
        holder = by
      }
      const score = (first: number, count: number) => own.scoreRows(0, layout.vectorsAt + first * dims, layout.scalesAt + first * 4, layout.outAt, count, dims)
      return {
        scoreAll(query, out) {
          checkDims(query)
          if (out.length < rows) throw new Error(`dense kernel: room for ${rows} scores expected, got ${out.length}`)
          load(query, {})
          score(0, rows)
          out.set(scores)
        },
        // Routing asks about sixty leaves' part rows a query (npm 186K): each ask is one
        // WebAssembly call, with no copy of the query and no views made. The Worker's
        // part similarities, three runs each, alternating: 0.030–0.063 ms a query
        // when every ask copied the query in and the scores out, 0.022–0.043 ms here.
        against(query) {
          checkDims(query)
          const kept = Float32Array.from(query)
          const by = {}
          return {
            best(first, count) {
              if (!(Number.isInteger(first) && Number.isInteger(count) && first >= 0 && count >= 1 && first + count <= rows)) {
                throw new Error(`dense kernel: rows ${first}…${first + count - 1} are not within the ${rows} held`)
              }
              load(kept, by)
              score(first, count)
              let best = -Infinity
              for (let i = 0; i < count; i++) if (scores[i] > best) best = scores[i]
              return best
            },
          }
        },
      }
    },
  }
}

function instance(module: WebAssembly.Module): KernelExports {
  return instantiateKernel<KernelExports>(module)
}

/**
 * Where a call's inputs and outputs sit in the kernel's memory (grown to fit):
 * query (float64), scales (float32), scores (float64), vectors (int8).
 */
function layoutFor(memory: WebAssembly.Memory, dims: number, rows: number, values: number, room: number) {
  if (values !== rows * dims) throw new Error(`dense kernel: ${rows} rows × ${dims} dims expected, got ${values} values`)
  if (room < rows) throw new Error(`dense kernel: room for ${rows} scores expected, got ${room}`)
  const scalesAt = align16(dims * 8)
  const outAt = align16(scalesAt + rows * 4)
  const vectorsAt = align16(outAt + rows * 8)
  bufferOf(memory, vectorsAt + values)
  return { scalesAt, outAt, vectorsAt }
}
