// The dense kernel in this isolate: the module is precompiled at upload (a
// CompiledWasm import; workerd refuses to compile WebAssembly while serving).

import kernelModule from '../core/dense-kernel.wasm'
import { denseKernel, type DenseKernel } from '../core/dense-kernel.ts'

let kernel: DenseKernel | undefined

export function workerDenseKernel(): DenseKernel {
  return (kernel ??= denseKernel(kernelModule))
}
