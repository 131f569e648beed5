// Shapes of what global-setup.ts provides to the workerd tests, and how they use it.
import type { Manifest } from '../../src/core/manifest.ts'
import { DEFAULT_POINTER } from '../../src/core/manifest.ts'
import type { ObjectStore } from '../../src/core/object-store.ts'
import { MANIFEST_FILE, planPublish, publish, type IndexFiles, type PublishSummary } from '../../src/core/publish.ts'
import { decodeShardDisplay, encodeShardDisplay, sha256Hex } from '../../src/core/shard-codec.ts'

export interface ProvidedIndex {
  name: string
  version: string
  /** The corpus the index was built from: id → title. */
  titles: Record<string, string>
  /** Index folder contents: relative path → base64. */
  files: Record<string, string>
}

export interface ProvidedParity {
  /** `dense`: per shard in manifest order, the Node dense kernel's scores of its rows against the unit query vector. `centroidSim`: per leaf in tree order, its centroid's similarity to that vector; `partSim` its nearest part centroid's. */
  cases: { q: string; ids: number[]; values: number[]; query: number[]; logits: number[]; centroidSim: number[]; partSim: number[]; dense: number[][] }[]
}

export const PARITY_QUERIES = ['black hole event horizon', 'How do I bake Sourdough?', 'Überschall — ÉTÉ 🙂 ｆｕｌｌ', 'tcp', 'コーヒーを飲む 支持拖拽Vue3 우편번호 𠀀𠀁', '']

declare module 'vitest' {
  export interface ProvidedContext {
    tinyIndex: ProvidedIndex
    parity: ProvidedParity
  }
}

export function decodeBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0))
}

export function encodeBase64(bytes: Uint8Array): string {
  let text = ''
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(text)
}

export function manifestOf(index: ProvidedIndex): Manifest {
  return JSON.parse(new TextDecoder().decode(decodeBase64(index.files[MANIFEST_FILE])))
}

/** The index folder as the publish code reads it. */
export function filesOf(index: ProvidedIndex): IndexFiles {
  return {
    read: async (path) => {
      if (!(path in index.files)) throw new Error(`no file ${path}`)
      return decodeBase64(index.files[path])
    },
  }
}

/** Publishes with the real publish code (src/core/publish.ts), as `gdr publish` does. */
export async function publishIndex(store: ObjectStore, index: ProvidedIndex, target: { name?: string; pointer?: string } = {}): Promise<PublishSummary> {
  const plan = await planPublish(decodeBase64(index.files[MANIFEST_FILE]), { name: target.name ?? index.name, pointer: target.pointer ?? DEFAULT_POINTER })
  return publish(plan, filesOf(index), store)
}

/** Lays the index out in R2 as `gdr publish` does: objects under the version prefix, then the pointer. */
export async function putIndex(bucket: R2Bucket, index: ProvidedIndex): Promise<void> {
  await publishIndex(bucket, index)
}

/**
 * Another version of the same index: every document id gets `suffix`, so its
 * results are told apart from the original's while ranking identically. Object
 * keys stay the same and only the display objects' bytes change, as between two real builds.
 */
export async function derivedVersion(index: ProvidedIndex, suffix: string): Promise<ProvidedIndex> {
  const manifest = manifestOf(index)
  const files = { ...index.files }
  for (const entry of manifest.shards) {
    const display = decodeShardDisplay(decodeBase64(files[entry.display.key]))
    const bytes = encodeShardDisplay({ ...display, ids: display.ids.map((id) => id + suffix) })
    files[entry.display.key] = encodeBase64(bytes)
    entry.display = { ...entry.display, bytes: bytes.length, sha256: await sha256Hex(bytes) }
  }
  const version = `${manifest.version}${suffix}`
  files[MANIFEST_FILE] = encodeBase64(new TextEncoder().encode(JSON.stringify({ ...manifest, version, createdAt: new Date().toISOString() })))
  const titles = Object.fromEntries(Object.entries(index.titles).map(([id, title]) => [id + suffix, title]))
  return { name: index.name, version, titles, files }
}
