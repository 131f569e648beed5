// `npm run kernel`: compiles the WebAssembly kernels of src/core (dense-kernel.wat,
// lexical-kernel.wat) to the .wasm files the Worker imports and Node loads (both are
// committed; a test checks they agree).

import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import wabt from 'wabt'
import { KERNEL_BINARY, LEXICAL_KERNEL_BINARY } from './node-kernel.ts'

export const KERNEL_SOURCE = fileURLToPath(new URL('../src/core/dense-kernel.wat', import.meta.url))
export const LEXICAL_KERNEL_SOURCE = fileURLToPath(new URL('../src/core/lexical-kernel.wat', import.meta.url))

/** Each kernel's source and the binary compiled from it. */
export const KERNELS = [
  { source: KERNEL_SOURCE, binary: KERNEL_BINARY },
  { source: LEXICAL_KERNEL_SOURCE, binary: LEXICAL_KERNEL_BINARY },
] as const

export async function compileKernel(source: string = readFileSync(KERNEL_SOURCE, 'utf8'), name = 'dense-kernel.wat'): Promise<Uint8Array> {
  const module = (await wabt()).parseWat(name, source, { simd: true })
  try {
    module.validate()
    return Uint8Array.from(module.toBinary({}).buffer)
  } finally {
    module.destroy()
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const { source, binary } of KERNELS) {
    const bytes = await compileKernel(readFileSync(source, 'utf8'), source)
    writeFileSync(binary, bytes)
    console.log(`wrote ${binary} (${bytes.length} bytes)`)
  }
}
