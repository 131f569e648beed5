// A query model's parameters for tests, of any shape and tree, each matrix drawn
// by `values(length, scale)` in one fixed order (so a seeded generator gives the
// same model every run).
import type { ClusterTree } from '../../src/core/tree.ts'
import { internalNodes, type QueryModelParams, type QueryModelShape } from '../../src/core/query-model.ts'

export function queryModelParams(shape: QueryModelShape, tree: ClusterTree, values: (length: number, scale: number) => Float32Array, gamma = 2.5): QueryModelParams {
  const nodes = tree.size - 1
  return {
    ...shape,
    E: values(shape.buckets * shape.hidden, 0.2),
    Wq: values(shape.hidden * shape.dims, 0.3),
    bq: values(shape.dims, 0.1),
    Ed: values(shape.buckets * shape.decoderHidden, 0.3),
    bd: values(shape.decoderHidden, 0.1),
    P: values(internalNodes(tree).length * shape.decoderHidden, 0.5),
    U: values(nodes * shape.decoderHidden, 0.5),
    beta: values(nodes, 0.1),
    M: values(nodes * shape.dims, 0.3),
    gamma: Float32Array.of(gamma),
    C: values(nodes * shape.dims, 0.3),
  }
}
