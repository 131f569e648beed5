// The cluster-ID prefix tree, decoded from the manifest's parent array.
// Children of a node are contiguous (breadth-first order), so a node's
// children are the range [childStart, childEnd).

import type { TreeSpec } from './manifest.ts'

export interface ClusterTree {
  readonly size: number
  readonly parent: Int32Array
  readonly childStart: Int32Array
  readonly childEnd: Int32Array
  /** Position of each node among its siblings: the token it contributes to a cluster ID. */
  readonly token: Int32Array
  readonly depth: Int32Array
  /** Leaf node indices in breadth-first order. */
  readonly leaves: Int32Array
}

export function buildTree(spec: TreeSpec): ClusterTree {
  const size = spec.parent.length
  const parent = Int32Array.from(spec.parent)
  const childStart = new Int32Array(size).fill(-1)
  const childEnd = new Int32Array(size).fill(-1)
  const token = new Int32Array(size)
  const depth = new Int32Array(size)
  for (let node = 1; node < size; node++) {
    const p = parent[node]
    if (childStart[p] < 0) childStart[p] = node
    token[node] = node - childStart[p]
    childEnd[p] = node + 1
    depth[node] = depth[p] + 1
  }
  const leaves: number[] = []
  for (let node = 0; node < size; node++) if (childStart[node] < 0) leaves.push(node)
  return { size, parent, childStart, childEnd, token, depth, leaves: Int32Array.from(leaves) }
}

export function isLeaf(tree: ClusterTree, node: number): boolean {
  return tree.childStart[node] < 0
}

/** A cluster ID as text ("3-1"): in object keys, messages, and to compare two IDs. */
export const cidKey = (cid: readonly number[]) => cid.join('-')

/** The cluster ID of a node: sibling positions from the root down. */
export function clusterId(tree: ClusterTree, node: number): number[] {
  const path: number[] = []
  for (let n = node; n > 0; n = tree.parent[n]) path.push(tree.token[n])
  return path.reverse()
}

/** Nodes on the path root → node, root excluded. */
export function pathNodes(tree: ClusterTree, node: number): number[] {
  const path: number[] = []
  for (let n = node; n > 0; n = tree.parent[n]) path.push(n)
  return path.reverse()
}
