// The routing teacher: its targets (leaves of a full search's top documents, by 1/rank), and
// its search budget: nearest leaves first, within a leaf count and a document count.
import { describe, expect, it } from 'vitest'
import { assignRoutes, nearestLeaves, type TeacherLeaf } from '../../scripts/build/routing-teacher.ts'
import type { QueryModelParams } from '../../src/core/query-model.ts'
import type { LexicalConfig } from '../../src/core/manifest.ts'
import { postingsOf } from '../support/postings.ts'
import { buildLexicon } from '../../scripts/build/lexical-index.ts'
import { queryTerms } from '../../src/core/search.ts'

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

describe('routing teacher targets', () => {
  // Bucket 0 embeds along x, bucket 1 along y; the query vector is the bag itself (Wq = I).
  const model = { dims: 2, hidden: 2, E: Float32Array.of(1, 0, 0, 1), Wq: Float32Array.of(1, 0, 0, 1), bq: new Float32Array(2) } as unknown as QueryModelParams
  const lexical: LexicalConfig = { kind: 'bm25', k1: 0.9, b: 0.4, avgDocLength: 10, seed: 1 }
  const shard = (node: number, rows: [number, number][]): TeacherLeaf => ({ node, vectors: Int8Array.from(rows.flat()), scales: new Float32Array(rows.length).fill(1 / 127), postings: postingsOf(rows.map(() => [])) })
  // Along x: two documents in leaf 1, one in leaf 2; along y: one in leaf 2.
  const teacherLeaves = [shard(1, [[127, 0], [120, 30]]), shard(2, [[110, 50], [0, 127]])]
  const example = (bucket: number, doc: number) => ({ features: { ids: Int32Array.of(bucket), values: Float32Array.of(1) }, doc, text: '' })
  const options = { topDocs: 3, beta: 0, maxLeaves: 64, maxDocs: 1000, maxQueries: 10 }

  it('routes each query to the leaves of its top documents, weighted by 1/rank and summing to 1, in example order', () => {
    const routes = assignRoutes([example(0, 0), example(1, 3)], model, teacherLeaves, lexical, buildLexicon(teacherLeaves), options)
    expect(routes).toHaveLength(2)
    // x: ranks 1 and 2 in leaf 1, rank 3 in leaf 2.
    const xTotal = 1 + 1 / 2 + 1 / 3
    expect(routes[0].get(1)).toBeCloseTo((1 + 1 / 2) / xTotal, 12)
    expect(routes[0].get(2)).toBeCloseTo(1 / 3 / xTotal, 12)
    // y: its best document is in leaf 2.
    expect([...routes[1].keys()][0]).toBe(2)
    for (const route of routes) expect([...route.values()].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12)
  })

  it('routes only the first maxQueries examples', () => {
    expect(assignRoutes([example(0, 0), example(1, 3), example(0, 1)], model, teacherLeaves, lexical, buildLexicon(teacherLeaves), { ...options, maxQueries: 2 })).toHaveLength(2)
  })

  it('normalizes BM25 by every query term the corpus knows, as the Worker does, even those only unsearched leaves hold', () => {
    // Leaf 1 holds a document along the query's direction without its words; leaf 2 one across it with "alpha";
    // leaf 3, the farthest, the only document with "omega". Only leaves 1 and 2 are searched.
    const [alpha, omega] = ['alpha', 'omega'].map((word) => queryTerms(word, lexical).keys().next().value!)
    const idf = () => 2
    const withTerms = (node: number, row: [number, number], terms: [number, number][]): TeacherLeaf => ({ node, vectors: Int8Array.from(row), scales: Float32Array.of(1 / 127), postings: postingsOf([terms], idf) })
    const three = [withTerms(1, [127, 0], []), withTerms(2, [0, 127], [[alpha, 200]]), withTerms(3, [0, 127], [[omega, 200]])]
    const near = { ...params, C: Float32Array.of(1, 0, 0.8, 0.6, 0, 1) } as QueryModelParams
    const searchTwo = { ...options, topDocs: 1, beta: 1.6, maxLeaves: 2 }
    const [route] = assignRoutes([{ features: { ids: Int32Array.of(0), values: Float32Array.of(1) }, doc: 0, text: 'alpha omega' }], { ...model, ...near }, three, lexical, buildLexicon(three), searchTwo)
    // "alpha" scores 200/255 of its maximum: normalized by both terms' idf (as the Worker) 0.39, × β 0.63 < leaf 1's dense 1;
    // by "alpha" alone (the searched leaves' terms) it was 0.78, × β 1.25 > 1, and the target was leaf 2.
    expect([...route.keys()]).toEqual([1])
  })
})
