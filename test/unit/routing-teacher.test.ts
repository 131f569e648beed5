// The routing teacher's search budget: nearest leaves first, within a leaf count and a document count.
import { describe, expect, it } from 'vitest'
import { nearestLeaves, type TeacherLeaf } from '../../scripts/build/routing-teacher.ts'
import type { QueryModelParams } from '../../src/core/query-model.ts'

const dims = 2
// Nodes 1..4 with centroids at angles 0°, 30°, 60°, 90° (rows of M), holding 5, 10, 20, 40 documents.
const angles = [0, 30, 60, 90].map((d) => (d * Math.PI) / 180)
const params = { C: Float32Array.from(angles.flatMap((a) => [Math.cos(a), Math.sin(a)])) } as unknown as QueryModelParams
const leaf = (node: number, docs: number): TeacherLeaf => ({ node, vectors: new Int8Array(docs * dims), scales: new Float32Array(docs), postings: {} as TeacherLeaf['postings'] })
const leaves = [leaf(1, 5), leaf(2, 10), leaf(3, 20), leaf(4, 40)]
const query = Float32Array.of(0, 1) // nearest: node 4, then 3, 2, 1

describe('routing teacher budget', () => {
  it('takes leaves nearest first until the leaf or document budget is reached', () => {
    const nodes = (maxLeaves: number, maxDocs: number) => nearestLeaves(query, leaves, params, dims, { maxLeaves, maxDocs }).map((l) => l.node)
    expect(nodes(10, 1000)).toEqual([4, 3, 2, 1])
    expect(nodes(2, 1000)).toEqual([4, 3])
    expect(nodes(10, 60)).toEqual([4, 3]) // 40 + 20; the next (10 docs) would pass 60
    expect(nodes(10, 70)).toEqual([4, 3, 2])
    expect(nodes(10, 1)).toEqual([4]) // always at least the nearest
  })
})
