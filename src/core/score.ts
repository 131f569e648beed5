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

/** Keeps the k best items seen, as a min-heap; O(n log k). Ties keep the earlier item. */
export class TopK<T> {
  private heap: Scored<T>[] = []
  constructor(private readonly k: number) {}

  /** The score a new item must beat to enter. */
  get threshold(): number {
    return this.heap.length < this.k ? -Infinity : this.heap[0].score
  }

  push(item: T, score: number): void {
    if (this.k <= 0) return
    if (this.heap.length < this.k) {
      this.heap.push({ item, score })
      siftUp(this.heap, this.heap.length - 1, lowerScore)
    } else if (score > this.heap[0].score) {
      this.heap[0] = { item, score }
      siftDown(this.heap, 0, lowerScore)
    }
  }

  /** Best first. */
  sorted(): Scored<T>[] {
    return [...this.heap].sort((a, b) => b.score - a.score)
  }

}

/** The heap's order: the lowest score at the root, the one a better item replaces. */
const lowerScore = <T>(a: Scored<T>, b: Scored<T>) => a.score < b.score
