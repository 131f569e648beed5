// A minimal valid manifest around a given tree and shards, for tests of the schema's invariants.
import { FORMAT_VERSION, type TreeSpec } from '../../src/core/manifest.ts'

export function manifestWith(tree: TreeSpec, shards: { cid: number[]; node: number; key: string; docs: number; bytes: number; sha256: string; display: { key: string; bytes: number; sha256: string } }[]) {
  return {
    format: 'gdr-index', formatVersion: FORMAT_VERSION, name: 'x', version: 'v1', createdAt: '', docs: shards.reduce((sum, s) => sum + s.docs, 0), dims: 4,
    vectors: { quantization: 'int8-per-vector-scale', normalized: true },
    featurizer: { kind: 'hashed-ngrams', buckets: 16, seed: 1, wordBigrams: true, charNgrams: [3, 5], weights: { word: 1, bigram: 1, char: 1 }, maxTokens: 10, maxTokenLength: 10 },
    lexical: { kind: 'bm25', k1: 0.9, b: 0.4, avgDocLength: 10, seed: 1 },
    lexicon: { topK: 4, parts: [{ part: 0, key: 'lexicon/0.msgpack', terms: 0, bytes: 1, sha256: 'c'.repeat(64) }] },
    model: { key: 'm', bytes: 1, sha256: 'a'.repeat(64), hidden: 4, decoderHidden: 4, quantization: 'int8-weights' },
    centroids: { key: 'c', bytes: 1, sha256: 'e'.repeat(64) },
    search: { alpha: 0, beta: 0, beam: 1, probeDocs: 1 },
    tree,
    shards,
  }
}

export const shardAt = (node: number) => ({ cid: [node - 1], node, key: `s${node}`, docs: 0, bytes: 1, sha256: 'b'.repeat(64), display: { key: `d${node}`, bytes: 1, sha256: 'd'.repeat(64) } })
