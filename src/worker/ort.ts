// onnxruntime-web 1.30 inside workerd. 'onnxruntime-web/wasm' resolves to
// ort.wasm.bundle.min.mjs: the WASM backend only, with the Emscripten loader
// embedded, so nothing is import()ed or fetched at run time.
import * as ort from 'onnxruntime-web/wasm'
// The CompiledWasm rule (wrangler.toml) makes this a WebAssembly.Module compiled
// at upload time: workerd refuses to compile WebAssembly from bytes while serving.
import ortWasm from 'onnxruntime-web/ort-wasm-simd-threaded.wasm'

import type { LoadTimings } from './server-timing.ts'
import { WARM_UP_MODEL } from './warm-up-model.ts'
import { MODEL_SESSION_OPTIONS } from '../core/query-model.ts'

export { Tensor } from 'onnxruntime-web/wasm'
export type { InferenceSession } from 'onnxruntime-web/wasm'

/** Resolved once the WASM backend is up in this isolate. */
let ortReady: Promise<void> | undefined

// ORT 1.30 hands Emscripten only {numThreads, wasmBinary, locateFile}, so the
// loader's instantiateWasm hook is out of reach. With wasmBinary set, the loader
// calls WebAssembly.instantiate(bytes, imports); we answer exactly that call
// (0 bytes can never be valid wasm) with an instance of the precompiled module.
function patchInstantiate(timings: LoadTimings): () => void {
  const real = WebAssembly.instantiate
  const patched = ((source: unknown, imports?: WebAssembly.Imports) => {
    if (!(source instanceof Uint8Array && source.byteLength === 0)) return (real as (...args: unknown[]) => Promise<unknown>).call(WebAssembly, source, imports)
    const started = Date.now()
    const instance = new WebAssembly.Instance(ortWasm, imports)
    timings.wasm = Date.now() - started
    wasmMemory = findMemory(imports, instance)
    return Promise.resolve({ instance, module: ortWasm })
  }) as typeof real
  WebAssembly.instantiate = patched
  return () => {
    if (WebAssembly.instantiate === patched) WebAssembly.instantiate = real
  }
}

/** ORT's WebAssembly memory (the loader creates it and imports it); undefined until the backend is up. */
let wasmMemory: WebAssembly.Memory | undefined

function findMemory(imports: WebAssembly.Imports | undefined, instance: WebAssembly.Instance): WebAssembly.Memory | undefined {
  const candidates = [...Object.values(imports ?? {}).flatMap((module) => Object.values(module)), ...Object.values(instance.exports)]
  return candidates.find((value): value is WebAssembly.Memory => value instanceof WebAssembly.Memory)
}

/** Bytes of ORT's WebAssembly memory in this isolate: the model's tensors, session buffers and everything ORT allocated (it never shrinks). */
export function ortMemoryBytes(): number | undefined {
  return wasmMemory?.buffer.byteLength
}

/**
 * Starts ORT in this isolate, once: instantiates its WebAssembly and initialises
 * the backend, by creating (and releasing) a session of a one-node model. The
 * index load calls it first thing, so the start runs while the pointer, manifest
 * and model are read; most of a first session's cost is this start, not the
 * model (Node: ~400 ms for the first create in a process, 30–50 ms for the next).
 * `timings.wasm` is set by the call that instantiates.
 */
export function startOrt(timings: LoadTimings = {}): Promise<void> {
  if (!ortReady) {
    ort.env.wasm.numThreads = 1 // no pthread workers in workerd
    ort.env.wasm.proxy = false // no Web Worker proxy either
    // A truthy wasmBinary makes ORT use the embedded loader and skip fetching the
    // .wasm; it is empty on purpose, as the marker patchInstantiate() answers.
    ort.env.wasm.wasmBinary = new Uint8Array(0)
    const restore = patchInstantiate(timings)
    // The backend initialises inside the first create(); the patch lives only that long.
    ortReady = ort.InferenceSession.create(WARM_UP_MODEL, MODEL_SESSION_OPTIONS).then(
      (session) => {
        restore()
        // A throwaway session: failing to free it must not fail the load.
        return session.release().catch(() => {})
      },
      (error: unknown) => {
        restore()
        ortReady = undefined // let the next load retry
        throw error
      },
    )
  }
  return ortReady
}

/** A session of `model` once ORT has started (startOrt; concurrent first loads share its start). */
export async function createSession(model: Uint8Array, timings: LoadTimings = {}): Promise<ort.InferenceSession> {
  await startOrt(timings)
  return ort.InferenceSession.create(model, MODEL_SESSION_OPTIONS) // shared with Node (eval, bench, tests): the same graph runs
}
