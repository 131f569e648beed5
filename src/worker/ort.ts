// onnxruntime-web inside workerd (Cloudflare Workers). No Node-only code.
// "onnxruntime-web/wasm" resolves (default import condition) to dist/ort.wasm.bundle.min.mjs: CPU/WASM EP only,
// with the Emscripten loader (ort-wasm-simd-threaded.mjs) embedded -> no dynamic import() of a loader at run time.
import * as ort from 'onnxruntime-web/wasm'
// Wrangler [[rules]] type="CompiledWasm" (vitest plugin: same default rule) turns this import into a
// precompiled WebAssembly.Module; workerd forbids compiling WASM from bytes at run time.
import ortWasm from 'onnxruntime-web/ort-wasm-simd-threaded.wasm'

export { Tensor } from 'onnxruntime-web/wasm'
export type { InferenceSession } from 'onnxruntime-web/wasm'

let wasmReady: Promise<unknown> | undefined; // once per isolate

function initOnce(first: () => Promise<unknown>): Promise<unknown> {
  ort.env.wasm.numThreads = 1; // no pthread workers in workerd (and no cross-origin isolation)
  ort.env.wasm.proxy = false; // no Web Worker proxy either
  // A truthy wasmBinary makes ORT (a) use the embedded loader even though import.meta.url is not a usable
  // script URL, and (b) skip fetch()ing the .wasm. It must be EMPTY: it is only a marker, see below.
  ort.env.wasm.wasmBinary = new Uint8Array(0)

  // ORT 1.30 passes only {numThreads, wasmBinary, locateFile} to the Emscripten factory, so the usual
  // Module.instantiateWasm hook cannot be reached from ort.env. The loader then calls
  // WebAssembly.instantiate(copyOf(wasmBinary), imports); we answer exactly that call (0-byte input, which
  // could never be valid wasm) with an Instance of the precompiled Module, and pass every other call through.
  const real = WebAssembly.instantiate
  const patched = function (src: unknown, imports?: WebAssembly.Imports) {
    if (src instanceof Uint8Array && src.byteLength === 0) {
      const instance = new WebAssembly.Instance(ortWasm, imports); // allowed: Module was compiled at upload
      return Promise.resolve({ instance, module: ortWasm })
    }
    return (real as (...a: unknown[]) => unknown).call(WebAssembly, src, imports)
  }
  WebAssembly.instantiate = patched as typeof WebAssembly.instantiate
  const restore = () => {
    if (WebAssembly.instantiate === patched) WebAssembly.instantiate = real
  }
  // The wasm backend is initialised lazily by the first InferenceSession.create(); keep the patch only for that.
  const p = first()
  p.then(restore, restore)
  return p
}

const sessionOptions: ort.InferenceSession.SessionOptions = {
  executionProviders: ['wasm'],
  graphOptimizationLevel: 'all',
}

export async function createSession(model: Uint8Array): Promise<ort.InferenceSession> {
  if (!wasmReady) {
    let session!: Promise<ort.InferenceSession>
    // reset on failure so a later request can retry (ORT itself refuses re-init after an aborted init, though)
    wasmReady = initOnce(() => (session = ort.InferenceSession.create(model, sessionOptions))).catch((e) => {
      wasmReady = undefined
      throw e
    })
    return session
  }
  await wasmReady; // concurrent first requests: wait for the one-time init, then create normally
  return ort.InferenceSession.create(model, sessionOptions)
}
