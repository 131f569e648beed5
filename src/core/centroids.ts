// Each leaf's frozen unit centroid C_c, the dense part of routing's estimate of
// a leaf (q̂·C_c, planProbe). It is index data beside the model, not in the graph,
// and the query is compared with every leaf at once by the dense kernel, the rows
// staying in its memory: npm 186K (1,024 leaves), Node, caches cold, the ORT run
// 382 → 292 µs median without C (.tmp/nomc.mts), and all leaves' similarities
// 73 µs by the kernel with the copy, 357 µs by a JS loop over the ~880 candidate
// leaves a query has (.tmp/simcost.mts, a build running beside it).

import type { DenseKernel, ResidentRows, RowsAgainst } from './dense-kernel.ts'
import type { RoutingOutputs } from './search.ts'
import type { ClusterTree } from './tree.ts'

/** The decoded object: int8 rows with per-row scales, one per leaf, ascending by node, and each leaf's parts. */
export interface LeafCentroids {
  dims: number
  nodes: Uint32Array
  /** nodes.length × dims */
  vectors: Int8Array
  scales: Float32Array
  /** The unit centroids of a few groups of each leaf's documents (spherical k-means inside the leaf; a zero row for a group of zero vectors). */
  parts: PartCentroids
}

/** Leaf row r's part centroids are rows start[r]..start[r+1] (at least one each). */
export interface PartCentroids {
  start: Uint32Array
  /** start[n] × dims */
  vectors: Int8Array
  scales: Float32Array
}

/** Part centroids a leaf gets (fewer when it holds fewer documents). */
export const PARTS_PER_LEAF = 4

/**
 * q̂·C_c by leaf node, for one index. Built only from centroids that fit the
 * index: its dims, and exactly its tree's leaves (every caller, Worker, build
 * and eval, gets the same check).
 */
export class CentroidTable {
  /** Row of each node's centroid; −1 for a node without one. */
  private readonly rowOf: Int32Array
  private readonly rows: ResidentRows
  private readonly partRows: ResidentRows

  constructor(private readonly centroids: LeafCentroids, tree: ClusterTree, dims: number, kernel: DenseKernel) {
    if (centroids.dims !== dims) throw new Error(`leaf centroids: ${centroids.dims} dims, not the index's ${dims}`)
    this.rowOf = new Int32Array(tree.size).fill(-1)
    centroids.nodes.forEach((node, row) => {
      if (node >= tree.size) throw new Error(`leaf centroids: node ${node} is not in a tree of ${tree.size} nodes`)
      this.rowOf[node] = row
    })
    const { leaves } = tree
    if (leaves.length !== centroids.nodes.length || !leaves.every((leaf) => this.rowOf[leaf] >= 0)) {
      throw new Error(`leaf centroids: ${centroids.nodes.length} rows are not exactly the tree's ${leaves.length} leaves`)
    }
    this.rows = kernel.resident(centroids.vectors, centroids.scales, centroids.dims)
    this.partRows = kernel.resident(centroids.parts.vectors, centroids.parts.scales, centroids.dims)
  }

  /**
   * The cosine of the unit query and each leaf's centroid, by node (NaN for a node
   * without one): the kernel's scale × Σ_d q̂_d · v_d, so the build (which tunes α
   * and β on it) and the Worker get the same bits. One kernel pass over every leaf,
   * on the first call: a caller that routes without it (exact search) pays nothing.
   */
  similarities(unitQuery: Float32Array): () => Float64Array {
    let byNode: Float64Array | undefined
    return () => {
      if (!byNode) {
        const { nodes } = this.centroids
        const byRow = new Float64Array(nodes.length)
        this.rows.scoreAll(unitQuery, byRow)
        byNode = new Float64Array(this.rowOf.length).fill(NaN)
        for (let row = 0; row < nodes.length; row++) byNode[nodes[row]] = byRow[row]
      }
      return byNode
    }
  }

  /**
   * q̂ · (the nearest of the leaf's part centroids): a closer estimate of the leaf's
   * best document's dense score than its one centroid, where the leaf's documents
   * spread. Asked only for the few leaves near the plan's cut (rankCandidates): the
   * kernel scores just that leaf's part rows, which stay in its memory (a JavaScript
   * loop over dequantized rows took npm 186K's Worker ~0.05 ms a query, session 18).
   */
  partSimilarity(unitQuery: Float32Array): (leaf: number) => number {
    const { start } = this.centroids.parts
    // The build's tuning asks again for every (α, β) it tries: each leaf's answer is kept.
    const known = new Float64Array(start.length - 1).fill(NaN)
    let parts: RowsAgainst | undefined
    return (leaf) => {
      const row = this.rowFor(leaf)
      if (Number.isNaN(known[row])) known[row] = (parts ??= this.partRows.against(unitQuery)).best(start[row], start[row + 1] - start[row])
      return known[row]
    }
  }

  /** Both of a query's dense estimates of a leaf, as routing (planProbe) reads them; each computed when first asked. */
  routingSims(unitQuery: Float32Array): Pick<RoutingOutputs, 'centroidSims' | 'partSim'> {
    return { centroidSims: this.similarities(unitQuery), partSim: this.partSimilarity(unitQuery) }
  }

  /** The row of a leaf's centroid (and of its parts' start); throws for a node without one. */
  private rowFor(leaf: number): number {
    const row = leaf < this.rowOf.length ? this.rowOf[leaf] : -1
    if (row < 0) throw new Error(`leaf centroids: node ${leaf} has none`)
    return row
  }
}
