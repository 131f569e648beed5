// Each leaf's frozen unit centroid C_c, the dense part of routing's estimate of
// a leaf (q̂·C_c, planProbe). It is index data beside the model, not in it: a
// query compares only its candidate leaves (npm 186K: ~40–100 of 1,024), where
// the graph compared every node with a per-query dequantization of all their rows
// (npm 186K, Node, caches cold: the ORT run 382 → 292 µs median, .tmp/nomc.mts).

/** The decoded object: int8 rows with per-row scales, one per leaf, ascending by node. */
export interface LeafCentroids {
  dims: number
  nodes: Uint32Array
  /** nodes.length × dims */
  vectors: Int8Array
  scales: Float32Array
}

/** q̂·C_c by leaf node, for one index. */
export class CentroidTable {
  /** Row of each node's centroid; −1 for a node without one. */
  private readonly rowOf: Int32Array

  constructor(private readonly centroids: LeafCentroids, treeSize: number) {
    this.rowOf = new Int32Array(treeSize).fill(-1)
    centroids.nodes.forEach((node, row) => {
      if (node >= treeSize) throw new Error(`leaf centroids: node ${node} is not in a tree of ${treeSize} nodes`)
      this.rowOf[node] = row
    })
  }

  /** True when the table holds exactly these leaves' centroids. */
  covers(leaves: Int32Array): boolean {
    return leaves.length === this.centroids.nodes.length && leaves.every((leaf) => leaf < this.rowOf.length && this.rowOf[leaf] >= 0)
  }

  /**
   * The cosine of the unit query and the leaf's centroid: scale × Σ_d q̂_d · v_d,
   * summed in float64 in dimension order, so the build (which tunes α and β on it)
   * and the Worker get the same bits. Throws for a node without a centroid.
   */
  similarity(unitQuery: Float32Array, leaf: number): number {
    const row = leaf < this.rowOf.length ? this.rowOf[leaf] : -1
    if (row < 0) throw new Error(`leaf centroids: node ${leaf} has none`)
    const { dims, vectors, scales } = this.centroids
    let dot = 0
    for (let d = 0, at = row * dims; d < dims; d++, at++) dot += unitQuery[d] * vectors[at]
    return dot * scales[row]
  }
}
