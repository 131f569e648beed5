// The fine, dense step and the fusion of both steps' scores.

import { siftDown, siftUp } from './best-first.ts'

export function l2normalize(vector: Float32Array): Float32Array {
  let norm = 0
  for (let i = 0; i < vector.length; i++) norm += vector[i] * vector[i]
  norm = Math.sqrt(norm)
  if (norm > 0) for (let i = 0; i < vector.length; i++) vector[i] /= norm
  return vector
}

/**
 * GDR's cluster term: p(cluster ID | query) under the decoder, the product of the
 * path's conditionals over the whole tree. Not renormalised over the beam, so a
 * document's score does not depend on which other clusters were read: exact
 * search and any routing rank by the same function.
 */
export function clusterProbability(logProb: number): number {
  return Math.exp(logProb)
}

export interface Scored<T> {
  item: T
  score: number
}

/**
 * Keeps the k best items seen, as a min-heap; O(n log k). Equal scores are ordered
 * by `tieOrder` (negative: the first item comes first), so which items are kept,
 * and their order, do not depend on the order they were pushed in: exact search
 * reads the leaves in another order than a routed search, and the two must agree
 * on equal scores (duplicate documents).
 */
export class TopK<T> {
  private heap: Scored<T>[] = []
  /** The heap's order: the worst entry at the root, the one a better entry replaces. */
  private readonly worse: (a: Scored<T>, b: Scored<T>) => boolean

  constructor(
    private readonly k: number,
    private readonly tieOrder: (a: T, b: T) => number,
  ) {
    this.worse = (a, b) => a.score < b.score || (a.score === b.score && tieOrder(a.item, b.item) > 0)
  }

  /** The lowest score that may still enter (an equal one enters when it comes first among the ties). */
  get threshold(): number {
    return this.heap.length < this.k ? -Infinity : this.heap[0].score
  }

  push(item: T, score: number): void {
    if (this.k <= 0) return
    const entry = { item, score }
    if (this.heap.length < this.k) {
      this.heap.push(entry)
      siftUp(this.heap, this.heap.length - 1, this.worse)
    } else if (this.worse(this.heap[0], entry)) {
      this.heap[0] = entry
      siftDown(this.heap, 0, this.worse)
    }
  }

  /** Best first; equal scores in tieOrder. */
  sorted(): Scored<T>[] {
    return [...this.heap].sort((a, b) => b.score - a.score || this.tieOrder(a.item, b.item))
  }
}
