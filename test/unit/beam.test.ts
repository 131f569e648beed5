import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { beamSearch, conditionalLogProbs, pathLogProbs } from '../../src/core/beam.ts'
import { buildTree, clusterId, isLeaf, pathNodes, type ClusterTree } from '../../src/core/tree.ts'
import { parseManifest } from '../../src/core/manifest.ts'
import { manifestWith, shardAt } from './manifest-fixture.ts'

/** A random BFS-ordered tree: each node in the frontier gets 0..4 children (the root at least 1). */
const treeArbitrary = fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 40 }).map((fanouts) => {
  const parent = [-1]
  let frontier = [0]
  let f = 0
  while (frontier.length > 0 && f < fanouts.length) {
    const next: number[] = []
    for (const node of frontier) {
      const count = node === 0 ? Math.max(1, fanouts[f++ % fanouts.length]) : f < fanouts.length ? fanouts[f++] : 0
      for (let c = 0; c < count; c++) next.push(parent.push(node) - 1)
    }
    frontier = next
  }
  return buildTree({ parent })
})

const withLogits = treeArbitrary.chain((tree) =>
  fc.tuple(fc.constant(tree), fc.float32Array({ minLength: tree.size - 1, maxLength: tree.size - 1, noNaN: true, noDefaultInfinity: true, min: -20, max: 20 }), fc.integer({ min: 1, max: 50 })),
)

function leafLogProb(tree: ClusterTree, logits: Float32Array, leaf: number): number {
  const lp = conditionalLogProbs(tree, logits)
  return pathNodes(tree, leaf).reduce((sum, n) => sum + lp[n], 0)
}

describe('constrained beam search', () => {
  it('returns only valid leaves, never more than the beam, best first', () => {
    fc.assert(
      fc.property(withLogits, ([tree, logits, beam]) => {
        const decoded = beamSearch(tree, logits, beam)
        expect(decoded.length).toBeGreaterThan(0)
        expect(decoded.length).toBeLessThanOrEqual(beam)
        const leaves = new Set(tree.leaves)
        for (const d of decoded) {
          expect(leaves.has(d.node)).toBe(true)
          expect(d.logProb).toBeCloseTo(leafLogProb(tree, logits, d.node), 4)
        }
        for (let i = 1; i < decoded.length; i++) expect(decoded[i].logProb).toBeLessThanOrEqual(decoded[i - 1].logProb)
        expect(new Set(decoded.map((d) => d.node)).size).toBe(decoded.length)
      }),
    )
  })

  it('is exact when the beam is as wide as the leaf count', () => {
    fc.assert(
      fc.property(withLogits, ([tree, logits]) => {
        const decoded = beamSearch(tree, logits, tree.leaves.length)
        const brute = Array.from(tree.leaves, (leaf) => leafLogProb(tree, logits, leaf)).sort((a, b) => b - a)
        expect(decoded.map((d) => d.logProb)).toEqual(brute.map((x) => expect.closeTo(x, 4)))
      }),
    )
  })

  it('keeps, level by level, the first beamWidth of all candidates fully sorted (ties: the lower node)', () => {
    fc.assert(
      fc.property(withLogits, ([tree, logits, beam]) => {
        const lp = conditionalLogProbs(tree, logits)
        let level = [{ node: 0, logProb: 0 }]
        while (level.some((b) => !isLeaf(tree, b.node))) {
          const candidates = level.flatMap((b) =>
            isLeaf(tree, b.node) ? [b] : Array.from({ length: tree.childEnd[b.node] - tree.childStart[b.node] }, (_, i) => ({ node: tree.childStart[b.node] + i, logProb: b.logProb + lp[tree.childStart[b.node] + i] })),
          )
          level = candidates.sort((a, b) => b.logProb - a.logProb || a.node - b.node).slice(0, beam)
        }
        expect(beamSearch(tree, logits, beam)).toEqual(level)
      }),
    )
  })

  it('pathLogProbs gives every node the sum of its path\'s conditionals, root first', () => {
    fc.assert(
      fc.property(withLogits, ([tree, logits]) => {
        const lp = conditionalLogProbs(tree, logits)
        const paths = pathLogProbs(tree, lp)
        for (let n = 0; n < tree.size; n++) expect(paths[n]).toBe(pathNodes(tree, n).reduce((sum, m) => sum + lp[m], 0))
      }),
    )
  })

  it('normalizes within each sibling group', () => {
    fc.assert(
      fc.property(withLogits, ([tree, logits]) => {
        const lp = conditionalLogProbs(tree, logits)
        for (let n = 0; n < tree.size; n++) {
          if (isLeaf(tree, n)) continue
          let sum = 0
          for (let c = tree.childStart[n]; c < tree.childEnd[n]; c++) sum += Math.exp(lp[c])
          expect(sum).toBeCloseTo(1, 5)
        }
      }),
    )
  })

  it('rejects logits of the wrong length', () => {
    const tree = buildTree({ parent: [-1, 0, 0] })
    expect(() => beamSearch(tree, new Float32Array(3), 2)).toThrow(/expected 2/)
  })

  it('names clusters by their path', () => {
    const tree = buildTree({ parent: [-1, 0, 0, 1, 1, 2] })
    expect(clusterId(tree, 4)).toEqual([0, 1])
    expect(clusterId(tree, 5)).toEqual([1, 0])
    expect(Array.from(tree.leaves)).toEqual([3, 4, 5])
  })
})

describe('manifest tree invariants', () => {
  it('accepts a BFS tree with one shard per leaf', () => {
    expect(() => parseManifest(manifestWith({ parent: [-1, 0, 0] }, [shardAt(1), shardAt(2)]))).not.toThrow()
  })

  it('rejects a leaf without a shard and a tree out of order', () => {
    expect(() => parseManifest(manifestWith({ parent: [-1, 0, 0] }, [shardAt(1)]))).toThrow(/exactly one shard/)
    expect(() => parseManifest(manifestWith({ parent: [-1, 0, 1, 0] }, [shardAt(2), shardAt(3)]))).toThrow(/breadth-first/)
  })

  it('rejects a shard entry whose cluster ID is not its path in the tree, or shards that do not hold the index\'s documents', () => {
    expect(() => parseManifest(manifestWith({ parent: [-1, 0, 0] }, [shardAt(1), { ...shardAt(2), cid: [7, 3] }]))).toThrow(/cluster ID \[7,3\], not its path in the tree \[1\]/)
    const manifest = manifestWith({ parent: [-1, 0, 0] }, [shardAt(1), shardAt(2)])
    expect(() => parseManifest({ ...manifest, docs: 999_999 })).toThrow(/shards hold 0 documents, not the index's 999999/)
  })

  it('rejects two objects under one key (the isolate caches decoded objects by key)', () => {
    const sharedDisplay = { ...shardAt(2), display: shardAt(1).display }
    expect(() => parseManifest(manifestWith({ parent: [-1, 0, 0] }, [shardAt(1), sharedDisplay]))).toThrow(/key of its own/)
    const displayAsShard = { ...shardAt(2), display: { ...shardAt(2).display, key: shardAt(1).key } }
    expect(() => parseManifest(manifestWith({ parent: [-1, 0, 0] }, [shardAt(1), displayAsShard]))).toThrow(/key of its own/)
  })
})
