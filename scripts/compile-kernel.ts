// `npm run kernel`: compiles src/core/dense-kernel.wat to the dense-kernel.wasm
// the Worker imports and Node loads (both are committed; a test checks they agree).

import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import wabt from 'wabt'
import { KERNEL_BINARY } from './node-kernel.ts'

export const KERNEL_SOURCE = fileURLToPath(new URL('../src/core/dense-kernel.wat', import.meta.url))

export async function compileKernel(source: string = readFileSync(KERNEL_SOURCE, 'utf8')): Promise<Uint8Array> {
  const module = (await wabt()).parseWat('dense-kernel.wat', source, { simd: true })
  try {
    module.validate()
    return Uint8Array.from(module.toBinary({}).buffer)
  } finally {
    module.destroy()
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const bytes = await compileKernel()
  writeFileSync(KERNEL_BINARY, bytes)
  console.log(`wrote ${KERNEL_BINARY} (${bytes.length} bytes)`)
}
