// The dense kernel in Node (build, eval, bench): the same .wasm file the Worker imports, compiled here.

import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { denseKernel, type DenseKernel } from '../src/core/dense-kernel.ts'

/** The compiled kernel (`npm run kernel` writes it from dense-kernel.wat). */
export const KERNEL_BINARY = fileURLToPath(new URL('../src/core/dense-kernel.wasm', import.meta.url))

let kernel: DenseKernel | undefined

// Node compiles synchronously; the Workers types (also in scope) declare the constructor abstract.
const WasmModule = WebAssembly.Module as unknown as new (bytes: Uint8Array) => WebAssembly.Module

export function nodeDenseKernel(): DenseKernel {
  return (kernel ??= denseKernel(new WasmModule(readFileSync(KERNEL_BINARY))))
}
