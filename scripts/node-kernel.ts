// The dense kernel in Node (build, eval, bench): the same .wasm file the Worker imports, compiled here.

import { readFileSync } from 'node:fs'
import { denseKernel, type DenseKernel } from '../src/core/dense-kernel.ts'

let kernel: DenseKernel | undefined

// Node compiles synchronously; the Workers types (also in scope) declare the constructor abstract.
const WasmModule = WebAssembly.Module as unknown as new (bytes: Uint8Array) => WebAssembly.Module

export function nodeDenseKernel(): DenseKernel {
  return (kernel ??= denseKernel(new WasmModule(readFileSync(new URL('../src/core/dense-kernel.wasm', import.meta.url)))))
}
