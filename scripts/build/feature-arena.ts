// Many small feature lists kept in a few large buffers. V8 spends a few hundred
// bytes on every ArrayBuffer besides its contents (the buffer object, its
// backing-store record, the allocation), and a build keeps two per document
// while it makes the vectors. Kept here, a list is two views into shared
// chunks, with the same values. 100K synthetic, with the pseudo-queries' lists
// kept here too (~475K lists, 950K ArrayBuffers): peak RSS 1.86 → 1.53 GiB,
// about 370 bytes an ArrayBuffer.

import type { SparseFeatures } from '../../src/core/featurizer.ts'

/** Entries a chunk holds (4 MiB of ids and 4 MiB of values); a longer list gets buffers of its own. */
const CHUNK_ENTRIES = 1 << 20

export class FeatureArena {
  private ids = new Int32Array(0)
  private values = new Float32Array(0)
  private used = 0

  /** A copy of `features` as views into the arena's chunks. */
  keep(features: SparseFeatures): SparseFeatures {
    const n = features.ids.length
    if (n > CHUNK_ENTRIES) return { ids: features.ids.slice(), values: features.values.slice() }
    if (this.used + n > this.ids.length) {
      this.ids = new Int32Array(CHUNK_ENTRIES)
      this.values = new Float32Array(CHUNK_ENTRIES)
      this.used = 0
    }
    const at = this.used
    this.used += n
    this.ids.set(features.ids, at)
    this.values.set(features.values, at)
    return { ids: this.ids.subarray(at, at + n), values: this.values.subarray(at, at + n) }
  }
}
