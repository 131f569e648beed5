// Memory-friendly cluster IDs: hierarchical, size-balanced spherical k-means over
// the document vectors. The leaf count is fixed by a budget, not by the corpus,
// so the decoder's output space (and the model) stays the same size as the
// corpus grows; balancing keeps every shard near the same size.

import type { TreeSpec } from '../../src/core/manifest.ts'
import { type Rng, randomInt } from './random.ts'

export interface ClusterTreeResult {
  tree: TreeSpec
  /** Leaf node of every document. */
  leafOf: Int32Array
  /** Documents of every leaf node, by node index. */
  members: Map<number, number[]>
}

export interface ClusterTreeOptions {
  leaves: number
  branching: number
  iterations?: number
  /** Allowed overshoot of a child's share, e.g. 0.1 = 10% larger than even. */
  slack?: number
}

interface Draft {
  docs: number[]
  children: Draft[]
}

export function buildClusterTree(vectors: Float32Array, dims: number, options: ClusterTreeOptions, rng: Rng): ClusterTreeResult {
  const count = vectors.length / dims
  const leaves = Math.max(1, Math.min(options.leaves, count))
  const branching = Math.max(2, options.branching)
  const levels = Math.max(1, Math.ceil(Math.log(leaves) / Math.log(branching) - 1e-9))
  const all = Array.from({ length: count }, (_, i) => i)
  const root: Draft = { docs: all, children: [] }
  split(root, leaves, levels)
  return flatten(root, count)

  function split(node: Draft, leafBudget: number, levelsLeft: number): void {
    // The root always branches, so every cluster ID has at least one token.
    const isRoot = node === root
    if (!isRoot && (levelsLeft === 0 || leafBudget <= 1 || node.docs.length <= 1)) return
    const fanout = levelsLeft === 1 ? leafBudget : Math.ceil(leafBudget ** (1 / levelsLeft))
    const b = Math.max(1, Math.min(fanout, branching, node.docs.length))
    const budgets = Array.from({ length: b }, (_, j) => Math.floor(leafBudget / b) + (j < leafBudget % b ? 1 : 0))
    const groups = b === 1 ? [node.docs] : balancedKMeans(vectors, dims, node.docs, budgets, options, rng)
    node.children = groups.map((docs) => ({ docs, children: [] }))
    node.children.forEach((child, j) => split(child, budgets[j], levelsLeft - 1))
  }
}

/** Breadth-first numbering: node 0 is the root, siblings contiguous. */
function flatten(root: Draft, count: number): ClusterTreeResult {
  const parent: number[] = [-1]
  const leafOf = new Int32Array(count).fill(-1)
  const members = new Map<number, number[]>()
  const queue: { draft: Draft; index: number }[] = [{ draft: root, index: 0 }]
  for (let head = 0; head < queue.length; head++) {
    const { draft, index } = queue[head]
    if (draft.children.length === 0) {
      members.set(index, draft.docs)
      for (const d of draft.docs) leafOf[d] = index
      continue
    }
    for (const child of draft.children) {
      parent.push(index)
      queue.push({ draft: child, index: parent.length - 1 })
    }
  }
  return { tree: { parent }, leafOf, members }
}

/** Splits `docs` into budgets.length groups with sizes proportional to the budgets. */
export function balancedKMeans(vectors: Float32Array, dims: number, docs: number[], budgets: number[], options: ClusterTreeOptions, rng: Rng): number[][] {
  const k = budgets.length
  const totalBudget = budgets.reduce((a, b) => a + b, 0)
  const slack = options.slack ?? 0.1
  const capacity = budgets.map((m) => Math.max(1, Math.ceil((docs.length * m * (1 + slack)) / totalBudget)))
  let centroids = seedCentroids(vectors, dims, docs, k, rng)
  let assignment: Int32Array = new Int32Array(docs.length)
  const iterations = options.iterations ?? 8
  for (let it = 0; it < iterations; it++) {
    assignment = assignWithCapacity(vectors, dims, docs, centroids, capacity)
    centroids = meanDirections(vectors, dims, docs, assignment, k, centroids)
  }
  const groups: number[][] = Array.from({ length: k }, () => [])
  assignment.forEach((c, i) => groups[c].push(docs[i]))
  fillEmptyGroups(vectors, dims, groups, centroids)
  return groups
}

/**
 * A group k-means left empty (two seeds on one spot, say) would lose its leaf, or a
 * subtree's whole budget, and put the sibling budgets out of step: it takes the member
 * of the largest group that fits that group's centroid least. (docs ≥ groups, so the
 * largest always has one to spare.)
 */
function fillEmptyGroups(vectors: Float32Array, dims: number, groups: number[][], centroids: Float32Array): void {
  for (const group of groups) {
    if (group.length > 0) continue
    let largest = 0
    groups.forEach((g, c) => {
      if (g.length > groups[largest].length) largest = c
    })
    const from = groups[largest]
    const fit = (doc: number) => dotAt(vectors, doc * dims, centroids, largest * dims, dims)
    let worst = 0
    for (let i = 1; i < from.length; i++) if (fit(from[i]) < fit(from[worst])) worst = i
    group.push(from.splice(worst, 1)[0])
  }
}

// k-means++ seeding on cosine distance, over a sample for speed.
function seedCentroids(vectors: Float32Array, dims: number, docs: number[], k: number, rng: Rng): Float32Array {
  const sample = docs.length > 50 * k ? Array.from({ length: 50 * k }, () => docs[randomInt(rng, docs.length)]) : docs
  const centroids = new Float32Array(k * dims)
  const distance = new Float64Array(sample.length).fill(Infinity)
  let chosen = sample[randomInt(rng, sample.length)]
  for (let c = 0; c < k; c++) {
    centroids.set(vectors.subarray(chosen * dims, (chosen + 1) * dims), c * dims)
    let total = 0
    for (let i = 0; i < sample.length; i++) {
      const d = 1 - dotAt(vectors, sample[i] * dims, centroids, c * dims, dims)
      distance[i] = Math.min(distance[i], Math.max(d, 0))
      total += distance[i]
    }
    let target = rng() * total
    let pick = sample.length - 1
    for (let i = 0; i < sample.length; i++) {
      target -= distance[i]
      if (target <= 0) {
        pick = i
        break
      }
    }
    chosen = sample[pick]
  }
  return centroids
}

/** Each document to its most similar centroid that still has room; confident documents choose first. */
function assignWithCapacity(vectors: Float32Array, dims: number, docs: number[], centroids: Float32Array, capacity: number[]): Int32Array {
  const k = capacity.length
  const scores = new Float32Array(docs.length * k)
  const margin = new Float32Array(docs.length)
  for (let i = 0; i < docs.length; i++) {
    let best = -Infinity
    let second = -Infinity
    for (let c = 0; c < k; c++) {
      const s = dotAt(vectors, docs[i] * dims, centroids, c * dims, dims)
      scores[i * k + c] = s
      if (s > best) [best, second] = [s, best]
      else if (s > second) second = s
    }
    margin[i] = best - second
  }
  const order = Array.from({ length: docs.length }, (_, i) => i).sort((a, b) => margin[b] - margin[a] || a - b)
  const room = [...capacity]
  const assignment = new Int32Array(docs.length)
  for (const i of order) {
    let best = -1
    for (let c = 0; c < k; c++) if (room[c] > 0 && (best < 0 || scores[i * k + c] > scores[i * k + best])) best = c
    assignment[i] = best
    room[best]--
  }
  return assignment
}

/** Each group's unit mean direction (sums in float64); a group with none keeps its previous centroid. */
export function meanDirections(vectors: Float32Array, dims: number, docs: readonly number[], assignment: Int32Array, k: number, previous: Float32Array): Float32Array {
  const sums = new Float64Array(k * dims)
  for (let i = 0; i < docs.length; i++) {
    const base = docs[i] * dims
    const c = assignment[i]
    for (let d = 0; d < dims; d++) sums[c * dims + d] += vectors[base + d]
  }
  const centroids = new Float32Array(k * dims)
  for (let c = 0; c < k; c++) {
    let norm = 0
    for (let d = 0; d < dims; d++) norm += sums[c * dims + d] ** 2
    norm = Math.sqrt(norm)
    for (let d = 0; d < dims; d++) centroids[c * dims + d] = norm > 0 ? sums[c * dims + d] / norm : previous[c * dims + d]
  }
  return centroids
}

export function dotAt(a: Float32Array, aOffset: number, b: Float32Array, bOffset: number, dims: number): number {
  let s = 0
  for (let d = 0; d < dims; d++) s += a[aOffset + d] * b[bOffset + d]
  return s
}
