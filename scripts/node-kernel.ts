// The WebAssembly kernels in Node (build, eval, bench): the same .wasm files the Worker imports, compiled here.

import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { denseKernel, type DenseKernel } from '../src/core/dense-kernel.ts'

/** The compiled kernels (`npm run kernel` writes them from their .wat sources). */
export const KERNEL_BINARY = fileURLToPath(new URL('../src/core/dense-kernel.wasm', import.meta.url))
export const LEXICAL_KERNEL_BINARY = fileURLToPath(new URL('../src/core/lexical-kernel.wasm', import.meta.url))

let kernel: DenseKernel | undefined
let lexicalModule: WebAssembly.Module | undefined

// Node compiles synchronously; the Workers types (also in scope) declare the constructor abstract.
const WasmModule = WebAssembly.Module as unknown as new (bytes: Uint8Array) => WebAssembly.Module

export function nodeDenseKernel(): DenseKernel {
  return (kernel ??= denseKernel(new WasmModule(readFileSync(KERNEL_BINARY))))
}

/** The lexical routing kernel's module, for LeafDocuments. */
export function nodeLexicalKernel(): WebAssembly.Module {
  return (lexicalModule ??= new WasmModule(readFileSync(LEXICAL_KERNEL_BINARY)))
}
