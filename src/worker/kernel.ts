// The WebAssembly kernels in this isolate: the modules are precompiled at upload (a
// CompiledWasm import; workerd refuses to compile WebAssembly while serving).

import kernelModule from '../core/dense-kernel.wasm'
import lexicalKernelModule from '../core/lexical-kernel.wasm'
import { denseKernel, type DenseKernel } from '../core/dense-kernel.ts'

let kernel: DenseKernel | undefined

export function workerDenseKernel(): DenseKernel {
  return (kernel ??= denseKernel(kernelModule))
}

/** The lexical routing kernel's module, for LeafDocuments. */
export function workerLexicalKernel(): WebAssembly.Module {
  return lexicalKernelModule
}
