// scoreCluster scores every shard in working arrays it reuses across calls: shards
// of any sizes, in any order, must score exactly as with fresh arrays per shard.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { byPlace, clusterParts, fuseCluster, scoreCluster, type Hit, type LexicalQuery } from '../../src/core/search.ts'
import { TopK } from '../../src/core/score.ts'
import type { LexicalConfig } from '../../src/core/manifest.ts'
import { nodeDenseKernel } from '../../scripts/node-kernel.ts'
import { postingsOf } from '../support/postings.ts'

const DIMS = 8
const config: LexicalConfig = { kind: 'bm25', k1: 0.9, b: 0.4, avgDocLength: 10, seed: 1 }
const weights = { alpha: 0.3, beta: 1.5 }

const doc = fc.record({
  vector: fc.array(fc.integer({ min: -127, max: 127 }), { minLength: DIMS, maxLength: DIMS }),
  scale: fc.double({ min: 0.001, max: 0.1, noNaN: true }),
  terms: fc.array(fc.tuple(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 255 })), { maxLength: 4 }),
})
const shardOf = (docs: { vector: number[]; scale: number; terms: [number, number][] }[]) => ({
  vectors: Int8Array.from(docs.flatMap((d) => d.vector)),
  scales: Float32Array.from(docs, (d) => d.scale),
  postings: postingsOf(docs.map((d) => d.terms)),
})

describe('scoreCluster', () => {
  it('scores shards one after another exactly as fresh arrays for each would', () => {
    const kernel = nodeDenseKernel()
    fc.assert(
      fc.property(
        fc.array(fc.array(doc, { maxLength: 40 }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: DIMS, maxLength: DIMS }),
        fc.uniqueArray(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 4 }),
        (shards, vector, terms) => {
          const query = { vector: Float32Array.from(vector), kernel }
          const lexical: LexicalQuery = { counts: new Map(terms.map((t) => [t, 1 + (t % 2)])), scale: 0.05 }
          const reused = new TopK<Hit>(1000, byPlace)
          const fresh = new TopK<Hit>(1000, byPlace)
          shards.forEach((docs, node) => {
            const shard = shardOf(docs)
            const cluster = { node, logProb: -node, prob: Math.exp(-node) }
            scoreCluster(query, lexical, shard, cluster, weights, config, reused)
            fuseCluster(clusterParts(query, lexical, shard, config), cluster, weights, fresh)
          })
          expect(reused.sorted()).toEqual(fresh.sorted())
          expect(reused.sorted().length).toBe(shards.reduce((n, docs) => n + docs.length, 0))
        },
      ),
    )
  })

  it('keeps the same top k whichever order the shards are scored in, equal scores included', () => {
    const kernel = nodeDenseKernel()
    fc.assert(
      fc.property(
        // Few distinct documents, repeated across shards: many equal scores.
        fc.array(fc.array(fc.constantFrom(0, 1, 2), { maxLength: 6 }), { minLength: 1, maxLength: 5 }),
        fc.array(doc, { minLength: 3, maxLength: 3 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer(),
        (shardDocs, library, k, seed) => {
          const query = { vector: Float32Array.from({ length: DIMS }, (_, i) => (i % 3) - 1), kernel }
          const lexical: LexicalQuery = { counts: new Map([[1, 1], [2, 1]]), scale: 0.05 }
          const flat = { alpha: 0, beta: 1.5 }
          const score = (order: number[]) => {
            const top = new TopK<Hit>(k, byPlace)
            for (const node of order) scoreCluster(query, lexical, shardOf(shardDocs[node].map((d) => library[d])), { node, logProb: 0, prob: 1 }, flat, config, top)
            return top.sorted().map(({ item, score }) => [item.node, item.row, score])
          }
          const order = shardDocs.map((_, node) => node)
          const shuffled = [...order].sort((a, b) => ((a * 7919 + seed) % 13) - ((b * 7919 + seed) % 13))
          expect(score(shuffled)).toEqual(score(order))
        },
      ),
      // The reviewer's case: one document in two shards, k = 1, the shards read in either order.
      { examples: [[[[0], [0]], [{ vector: [1, 0, 0, 0, 0, 0, 0, 0], scale: 0.01, terms: [] }, { vector: [1, 0, 0, 0, 0, 0, 0, 0], scale: 0.01, terms: [] }, { vector: [1, 0, 0, 0, 0, 0, 0, 0], scale: 0.01, terms: [] }], 1, 1]] },
    )
  })
})
