// Shapes of what global-setup.ts provides to the workerd tests, and how they use it.
import { keys, type Manifest, type Pointer } from '../../src/core/manifest.ts'

export interface ProvidedIndex {
  name: string
  version: string
  /** The corpus the index was built from: id → title. */
  titles: Record<string, string>
  /** Index folder contents: relative path → base64. */
  files: Record<string, string>
}

export interface ProvidedParity {
  cases: { q: string; ids: number[]; values: number[]; query: number[]; logits: number[] }[]
}

export const PARITY_QUERIES = ['black hole event horizon', 'How do I bake Sourdough?', 'Überschall — ÉTÉ 🙂 ｆｕｌｌ', 'tcp', '']

declare module 'vitest' {
  export interface ProvidedContext {
    tinyIndex: ProvidedIndex
    parity: ProvidedParity
  }
}

export function decodeBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0))
}

export function manifestOf(index: ProvidedIndex): Manifest {
  return JSON.parse(new TextDecoder().decode(decodeBase64(index.files['manifest.json'])))
}

/** Lays the index out in R2 as `gdr publish` does: objects under the version prefix, then the pointer. */
export async function putIndex(bucket: R2Bucket, index: ProvidedIndex): Promise<void> {
  const prefix = keys.versionPrefix(index.name, index.version)
  for (const [path, base64] of Object.entries(index.files)) await bucket.put(prefix + path, decodeBase64(base64))
  const pointer: Pointer = { version: index.version, manifest: keys.manifest(index.name, index.version), publishedAt: new Date().toISOString() }
  await bucket.put(keys.pointer(index.name), JSON.stringify(pointer))
}
