// Partial ordering, on one binary heap: the beam keeps a few dozen of a thousand
// candidates, and the probe plan reads a few dozen of hundreds; sorting all of them
// was most of planProbe's time (npm 186K: 0.6 of its 1.2 ms, .tmp/planbench.mts).
// TopK (score.ts) and the beam (beam.ts) keep their k best with siftUp/siftDown.

/** A strict total order: true when `a` comes before `b`. */
export type Before<T> = (a: T, b: T) => boolean

/**
 * Positions 0…n−1 by descending score, ties by ascending key, each when asked
 * for: O(n) to start, O(log n) per position. Scores and keys stay in typed
 * arrays and compare inline: the probe plan ranks ~800 candidates a query
 * (npm 186K) to take a few dozen.
 */
export class ByScore {
  private readonly heap: Int32Array
  private size: number

  constructor(
    private readonly scores: Float64Array,
    private readonly keys: Int32Array,
  ) {
    this.size = scores.length
    this.heap = new Int32Array(this.size)
    for (let i = 0; i < this.size; i++) this.heap[i] = i
    for (let i = (this.size >> 1) - 1; i >= 0; i--) this.sink(i)
  }

  /** The next position, or −1 when all were taken. */
  next(): number {
    if (this.size === 0) return -1
    const top = this.heap[0]
    this.heap[0] = this.heap[--this.size]
    this.sink(0)
    return top
  }

  private before(a: number, b: number): boolean {
    return this.scores[a] > this.scores[b] || (this.scores[a] === this.scores[b] && this.keys[a] < this.keys[b])
  }

  private sink(i: number): void {
    const { heap, size } = this
    const item = heap[i]
    for (;;) {
      let child = 2 * i + 1
      if (child >= size) break
      if (child + 1 < size && this.before(heap[child + 1], heap[child])) child++
      if (!this.before(heap[child], item)) break
      heap[i] = heap[child]
      i = child
    }
    heap[i] = item
  }
}

/** Heap with `first(a, b)` true when a belongs nearer the root. */
export function siftUp<T>(heap: T[], i: number, first: Before<T>): void {
  while (i > 0) {
    const parent = (i - 1) >> 1
    if (!first(heap[i], heap[parent])) return
    ;[heap[i], heap[parent]] = [heap[parent], heap[i]]
    i = parent
  }
}

export function siftDown<T>(heap: T[], i: number, first: Before<T>): void {
  for (;;) {
    const left = 2 * i + 1
    const right = left + 1
    let top = i
    if (left < heap.length && first(heap[left], heap[top])) top = left
    if (right < heap.length && first(heap[right], heap[top])) top = right
    if (top === i) return
    ;[heap[i], heap[top]] = [heap[top], heap[i]]
    i = top
  }
}
