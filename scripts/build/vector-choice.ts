// Which document vectors an index keeps: LSA as it is, or the dual encoder's
// refinement of it. Neither wins everywhere. Measured by full builds with and
// without the encoder, held-out pseudo-query MRR@10: Cranfield 0.812 LSA vs 0.805
// trained, msmarco-5k 0.739 vs 0.755. So the build decides per corpus, before
// anything is built on the vectors. The test is cheap: each candidate's
// table E, untrained, serves as its own query encoder (q = unit(Σ w·E[f]), which
// is where the query model starts). Held-out span queries search a pool of
// documents by brute force, each with the score the Worker fuses,
// q·d + β·BM25, at its best β.

import type { SparseFeatures } from '../../src/core/featurizer.ts'
import type { ShardPostings } from '../../src/core/lexical.ts'
import type { LexicalConfig } from '../../src/core/manifest.ts'
import { embedBag } from '../../src/core/query-model.ts'
import { quantizeRows } from '../../src/core/quant.ts'
import { clusterParts, lexicalQuery, queryTerms, queryVector } from '../../src/core/search.ts'
import type { DenseKernel } from '../../src/core/dense-kernel.ts'

export type VectorSource = 'lsa' | 'trained'

export interface VectorCandidate {
  source: VectorSource
  /** buckets × dims: the query side (the bag of n-gram embeddings). */
  embedding: Float32Array
  /** docs × dims, unit rows. */
  docVectors: Float32Array
}

export interface ChoiceQuery {
  features: SparseFeatures
  text: string
  /** The document the query was drawn from (a corpus index). */
  doc: number
}

/** The documents searched: corpus indices, and their BM25 postings (row r = docs[r]). */
export interface ChoicePool {
  docs: number[]
  postings: ShardPostings
  config: LexicalConfig
}

export interface CandidateScore {
  source: VectorSource
  mrr10: number
  /** The β at which it scored best. */
  beta: number
}

/**
 * MRR@10 of each query's own document among the pool, ranked by q·d + β·BM25/max
 * (the Worker's fused score without the cluster term), at the best β of `betas`.
 * A document tied with the query's own counts as ahead of it; a query whose document
 * is not in the pool counts 0. On a sampled pool the BM25 normalizer only knows the
 * pool's terms, so the score is the Worker's approximately.
 */
export function heldOutScore(candidate: VectorCandidate, dims: number, pool: ChoicePool, queries: readonly ChoiceQuery[], betas: readonly number[], kernel: DenseKernel): CandidateScore {
  const vectors = new Float32Array(pool.docs.length * dims)
  pool.docs.forEach((doc, r) => vectors.set(candidate.docVectors.subarray(doc * dims, (doc + 1) * dims), r * dims))
  const quantized = quantizeRows(vectors, pool.docs.length, dims)
  const shard = { vectors: quantized.values, scales: quantized.scales, postings: pool.postings }
  const rowOf = new Map(pool.docs.map((doc, r) => [doc, r]))
  const reciprocal = new Float64Array(betas.length)
  for (const query of queries) {
    const own = rowOf.get(query.doc)
    if (own === undefined) continue
    const dense = { vector: queryVector(embedBag(candidate.embedding, dims, query.features)), kernel }
    const parts = clusterParts(dense, lexicalQuery(queryTerms(query.text, pool.config), pool.config, [pool.postings]), shard, pool.config)
    betas.forEach((beta, b) => {
      const target = parts.dense[own] + beta * parts.lexical[own]
      let ahead = 0
      for (let r = 0; r < parts.dense.length && ahead < 10; r++) {
        if (r !== own && parts.dense[r] + beta * parts.lexical[r] >= target) ahead++
      }
      if (ahead < 10) reciprocal[b] += 1 / (ahead + 1)
    })
  }
  let best = 0
  for (let b = 1; b < betas.length; b++) if (reciprocal[b] > reciprocal[best]) best = b
  return { source: candidate.source, mrr10: reciprocal[best] / Math.max(queries.length, 1), beta: betas[best] }
}

/** The better-scoring candidate; LSA on a tie (it is what the other was trained from). */
export function chooseVectors(scores: readonly CandidateScore[]): VectorSource {
  const lsa = scores.find((s) => s.source === 'lsa')
  const trained = scores.find((s) => s.source === 'trained')
  return trained && (!lsa || trained.mrr10 > lsa.mrr10) ? 'trained' : 'lsa'
}
