// Partial ordering, on one binary heap: the beam keeps a few dozen of a thousand
// candidates, and the probe plan reads a few dozen of hundreds; sorting all of them
// was most of planProbe's time (npm 186K: 0.6 of its 1.2 ms, .tmp/planbench.mts).
// TopK (score.ts) keeps its k best on the same heap.

/** A strict total order: true when `a` comes before `b`. */
export type Before<T> = (a: T, b: T) => boolean

/** The first k items by `before`, in that order, as sorting all of them would give: O(n log k). */
export function firstK<T>(items: Iterable<T>, k: number, before: Before<T>): T[] {
  // A heap whose root is the last of the k kept so far.
  const heap: T[] = []
  const after = (a: T, b: T) => before(b, a)
  for (const item of items) {
    if (heap.length < k) {
      heap.push(item)
      siftUp(heap, heap.length - 1, after)
    } else if (k > 0 && before(item, heap[0])) {
      heap[0] = item
      siftDown(heap, 0, after)
    }
  }
  return heap.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0))
}

/** Items taken in the order of `before`, each when asked for: O(n) to start, O(log n) per item. */
export class BestFirst<T> {
  private readonly heap: T[]

  constructor(
    items: readonly T[],
    private readonly before: Before<T>,
  ) {
    this.heap = [...items]
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) siftDown(this.heap, i, before)
  }

  /** The next item, or undefined when all were taken. */
  next(): T | undefined {
    const { heap } = this
    if (heap.length === 0) return undefined
    const top = heap[0]
    const last = heap.pop()!
    if (heap.length > 0) {
      heap[0] = last
      siftDown(heap, 0, this.before)
    }
    return top
  }

  *[Symbol.iterator](): Generator<T> {
    for (let item = this.next(); item !== undefined; item = this.next()) yield item
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
