// Where should a query be routed? To the leaves holding the documents a full search
// (dense + lexical, no routing) ranks best. Those leaves become soft cluster-ID targets,
// so the decoder learns to route where the fine step will find the best answers,
// including lexical matches that a centroid cannot see.

import type { LexicalConfig } from '../../src/core/manifest.ts'
import type { LexiconPart } from '../../src/core/lexical.ts'
import { affine, embedBag, nodeDot, type QueryModelParams } from '../../src/core/query-model.ts'
import { byPlace, lexicalQuery, lexiconPartsOf, queryTerms, queryVector, scoreCluster, type Hit, type ScoredVectors } from '../../src/core/search.ts'
import { TopK } from '../../src/core/score.ts'
import { nodeDenseKernel } from '../node-kernel.ts'
import type { ExampleSet, TextExample } from './train.ts'

export interface TeacherOptions {
  /** Documents of the full search whose leaves become targets. */
  topDocs: number
  /** Lexical weight of the teacher's fused score: the β tuned for the untrained model. */
  beta: number
  /** On large corpora, only the leaves nearest by centroid are searched: at most this many… */
  maxLeaves: number
  /** …holding at most this many documents (big leaves: fewer of them). */
  maxDocs: number
  /** Time budget: at most this many queries get routes; the others keep their positive's cluster ID alone. */
  maxQueries: number
}

export const DEFAULT_TEACHER: Omit<TeacherOptions, 'beta'> = { topDocs: 10, maxLeaves: 64, maxDocs: 16_384, maxQueries: 60_000 }

export interface TeacherLeaf extends ScoredVectors {
  node: number
}

/**
 * The routing targets (`routeTo`) of the first `maxQueries` examples (shuffled already), in order: their top documents' leaves, weighted by 1/rank.
 * BM25 is normalized by the query terms' corpus idf from the lexicon, as the Worker does, not by the terms the searched leaves happen to hold.
 */
export function assignRoutes(examples: ExampleSet<TextExample>, params: QueryModelParams, leaves: TeacherLeaf[], lexical: LexicalConfig, lexicon: LexiconPart[], options: TeacherOptions, onProgress?: (done: number) => void): Map<number, number>[] {
  const dims = params.dims
  const kernel = nodeDenseKernel()
  const searchAll = leaves.length <= options.maxLeaves && leaves.reduce((n, leaf) => n + leaf.scales.length, 0) <= options.maxDocs
  const routes: Map<number, number>[] = []
  for (let i = 0; i < Math.min(examples.length, options.maxQueries); i++) {
    const example = examples.at(i)!
    if (i % 500 === 0) onProgress?.(i)
    // Only the query vector is needed here, not the decoder's logits.
    const vector = queryVector(affine(embedBag(params.E, params.hidden, example.features), params.Wq, params.bq))
    const query = { vector, kernel }
    const searched = searchAll ? leaves : nearestLeaves(vector, leaves, params, dims, options)
    const terms = queryTerms(example.text, lexical)
    const lexicalTerms = lexicalQuery(terms, lexical, lexiconPartsOf(terms, lexicon))
    const top = new TopK<Hit>(options.topDocs, byPlace)
    for (const leaf of searched) scoreCluster(query, lexicalTerms, leaf, { node: leaf.node, logProb: 0, prob: 0 }, { alpha: 0, beta: options.beta }, lexical, top)
    const routeTo = new Map<number, number>()
    let total = 0
    top.sorted().forEach((hit, rank) => {
      const w = 1 / (rank + 1)
      routeTo.set(hit.item.node, (routeTo.get(hit.item.node) ?? 0) + w)
      total += w
    })
    for (const [leaf, w] of routeTo) routeTo.set(leaf, w / total)
    routes.push(routeTo)
  }
  return routes
}

/** The leaves nearest the query by centroid, best first, within the leaf and document budgets (at least one). */
export function nearestLeaves(query: Float32Array, leaves: TeacherLeaf[], params: QueryModelParams, dims: number, options: Pick<TeacherOptions, 'maxLeaves' | 'maxDocs'>): TeacherLeaf[] {
  const ranked = leaves.map((leaf) => ({ leaf, s: nodeDot(params.C, query, leaf.node, dims) })).sort((a, b) => b.s - a.s)
  const searched: TeacherLeaf[] = []
  let docs = 0
  for (const { leaf } of ranked) {
    if (searched.length > 0 && (searched.length >= options.maxLeaves || docs + leaf.scales.length > options.maxDocs)) break
    searched.push(leaf)
    docs += leaf.scales.length
  }
  return searched
}
