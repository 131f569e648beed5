import { describe, expect, it } from 'vitest'
import { buildClusterTree } from '../../scripts/build/cluster-tree.ts'
import { createRng, gaussian } from '../../scripts/build/random.ts'
import { buildTree, clusterId } from '../../src/core/tree.ts'
import { parseManifest } from '../../src/core/manifest.ts'
import { manifestWith } from './manifest-fixture.ts'

function blobs(count: number, dims: number, centers: number, seed: number): Float32Array {
  const rng = createRng(seed)
  const mus = Array.from({ length: centers }, () => Array.from({ length: dims }, () => gaussian(rng)))
  const v = new Float32Array(count * dims)
  for (let i = 0; i < count; i++) {
    const mu = mus[i % centers]
    let n = 0
    for (let d = 0; d < dims; d++) n += (v[i * dims + d] = mu[d] + 0.3 * gaussian(rng)) ** 2
    n = Math.sqrt(n)
    for (let d = 0; d < dims; d++) v[i * dims + d] /= n
  }
  return v
}

describe('hierarchical balanced k-means', () => {
  it('assigns every document to exactly one leaf, with the leaf count from the budget', () => {
    const dims = 8
    const result = buildClusterTree(blobs(1000, dims, 7, 1), dims, { leaves: 40, branching: 8 }, createRng(2))
    const tree = buildTree(result.tree)
    expect(tree.leaves.length).toBe(40)
    const seen = new Set<number>()
    for (const [leaf, docs] of result.members) {
      expect(Array.from(tree.leaves)).toContain(leaf)
      for (const d of docs) {
        expect(seen.has(d)).toBe(false)
        seen.add(d)
        expect(result.leafOf[d]).toBe(leaf)
      }
    }
    expect(seen.size).toBe(1000)
    expect(Math.max(...tree.depth)).toBe(2)
  })

  it('keeps leaves balanced even when the data is not', () => {
    const dims = 8
    const skewed = blobs(2000, dims, 3, 5) // three dense blobs for 50 leaves
    const result = buildClusterTree(skewed, dims, { leaves: 50, branching: 10 }, createRng(1))
    const sizes = [...result.members.values()].map((m) => m.length)
    expect(Math.max(...sizes)).toBeLessThanOrEqual(Math.ceil((2000 / 50) * 1.25))
    expect(Math.min(...sizes)).toBeGreaterThan(0)
  })

  it('produces a tree the manifest accepts, also for tiny corpora', () => {
    for (const count of [1, 2, 5, 33]) {
      const dims = 4
      const result = buildClusterTree(blobs(count, dims, 2, count), dims, { leaves: 8, branching: 4 }, createRng(count))
      const tree = buildTree(result.tree)
      const shards = Array.from(tree.leaves, (node) => ({ cid: clusterId(tree, node), node, key: `s${node}`, docs: 1, bytes: 1, sha256: 'c'.repeat(64), display: { key: `d${node}`, bytes: 1, sha256: 'd'.repeat(64) } }))
      expect(tree.childStart[0]).toBe(1) // the root always branches
      expect(() => parseManifest(manifestWith(result.tree, shards))).not.toThrow()
    }
  })

  it('meets the leaf budget on tightly clustered vectors, where k-means leaves groups empty', () => {
    const dims = 16
    for (const seed of [1, 2, 3]) {
      // 20 tight topics for 88 leaves: several seeds land on one topic, and a group can end up empty.
      const rng = createRng(seed * 7 + 1400)
      const topics = Array.from({ length: 20 }, () => Array.from({ length: dims }, () => gaussian(rng)))
      const vectors = new Float32Array(1400 * dims)
      for (let i = 0; i < 1400; i++) {
        let norm = 0
        for (let j = 0; j < dims; j++) norm += (vectors[i * dims + j] = topics[i % 20][j] + 0.3 * gaussian(rng)) ** 2
        for (let j = 0; j < dims; j++) vectors[i * dims + j] /= Math.sqrt(norm)
      }
      const result = buildClusterTree(vectors, dims, { leaves: 88, branching: 32 }, createRng(seed))
      expect(result.members.size, `seed ${seed}`).toBe(88)
      expect(Math.min(...[...result.members.values()].map((m) => m.length))).toBeGreaterThan(0)
      expect([...result.members.values()].reduce((n, m) => n + m.length, 0)).toBe(1400)
    }
  })
})
