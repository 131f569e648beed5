// Constrained beam search over the cluster-ID prefix tree. The model gives,
// for every tree node, the logit of choosing it after its parent's prefix;
// only children that exist in the tree are ever candidates, so every result
// is a valid cluster ID.

import type { ClusterTree } from './tree.ts'
import { isLeaf } from './tree.ts'
import { siftDown, siftUp } from './best-first.ts'

export interface DecodedCluster {
  node: number
  /** log p(cluster ID | query) = Σ over levels of log p(token | query, prefix). */
  logProb: number
}

/** Log-softmax of each sibling group: the conditional log-probability of every non-root node. */
export function conditionalLogProbs(tree: ClusterTree, logits: Float32Array): Float32Array {
  if (logits.length !== tree.size - 1) {
    throw new Error(`decoder logits: expected ${tree.size - 1}, got ${logits.length}`)
  }
  const logProbs = new Float32Array(tree.size)
  for (let node = 0; node < tree.size; node++) {
    const start = tree.childStart[node]
    if (start < 0) continue
    const end = tree.childEnd[node]
    let max = -Infinity
    for (let c = start; c < end; c++) max = Math.max(max, logits[c - 1])
    let sum = 0
    for (let c = start; c < end; c++) sum += Math.exp(logits[c - 1] - max)
    const logZ = max + Math.log(sum)
    for (let c = start; c < end; c++) logProbs[c] = logits[c - 1] - logZ
  }
  return logProbs
}

/**
 * Returns at most `beamWidth` leaves, best first. Finished leaves compete with
 * open prefixes for beam slots, so leaves at different depths rank fairly.
 */
export function beamSearch(tree: ClusterTree, logits: Float32Array, beamWidth: number): DecodedCluster[] {
  return decodeBeam(tree, conditionalLogProbs(tree, logits), beamWidth)
}

/**
 * beamSearch over conditionalLogProbs already computed (planProbe reuses them
 * for leaves outside the beam). Each level offers every child of the beam to a
 * heap of the `beamWidth` best, which allocates only for the candidates that enter.
 */
export function decodeBeam(tree: ClusterTree, logProbs: Float32Array, beamWidth: number): DecodedCluster[] {
  if (!(beamWidth >= 1)) throw new Error('beam width must be at least 1')
  let beam: DecodedCluster[] = [{ node: 0, logProb: 0 }]
  while (beam.some((b) => !isLeaf(tree, b.node))) {
    const kept = new BeamHeap(beamWidth)
    for (const b of beam) {
      if (isLeaf(tree, b.node)) kept.offer(b.node, b.logProb, b)
      else for (let c = tree.childStart[b.node]; c < tree.childEnd[b.node]; c++) kept.offer(c, b.logProb + logProbs[c])
    }
    beam = kept.best()
  }
  return beam
}

/** The `width` most probable clusters offered, on a heap whose root is the least probable kept. */
class BeamHeap {
  private readonly heap: DecodedCluster[] = []
  constructor(private readonly width: number) {}

  /** `kept`: the object to keep if this cluster enters (a finished leaf carried over). */
  offer(node: number, logProb: number, kept?: DecodedCluster): void {
    const { heap } = this
    if (heap.length < this.width) {
      heap.push(kept ?? { node, logProb })
      siftUp(heap, heap.length - 1, lessProbable)
    } else if (ahead(node, logProb, heap[0])) {
      heap[0] = kept ?? { node, logProb }
      siftDown(heap, 0, lessProbable)
    }
  }

  /** The kept clusters, most probable first. */
  best(): DecodedCluster[] {
    return this.heap.sort((a, b) => (moreProbable(a, b) ? -1 : 1))
  }
}

/** log p(cluster ID | query) of every node over the full tree (the root's is 0), from conditionalLogProbs in one pass: a parent precedes its children. */
export function pathLogProbs(tree: ClusterTree, conditional: Float32Array): Float64Array {
  const out = new Float64Array(tree.size)
  for (let node = 1; node < tree.size; node++) out[node] = out[tree.parent[node]] + conditional[node]
  return out
}

/** Beam order: more probable first, then the lower node. `ahead` compares a candidate not yet made into an object. */
const ahead = (node: number, logProb: number, b: DecodedCluster) => logProb > b.logProb || (logProb === b.logProb && node < b.node)
const moreProbable = (a: DecodedCluster, b: DecodedCluster) => ahead(a.node, a.logProb, b)
const lessProbable = (a: DecodedCluster, b: DecodedCluster) => moreProbable(b, a)
