// The index format v1: one manifest per index version, validated identically
// where it is written (build) and where it is read (Worker).

import { z } from 'zod'
import { buildTree, cidKey, clusterId } from './tree.ts'

// Deployed Workers refuse `new Function`; zod must not try to JIT its parsers.
z.config({ jitless: true })

export const FORMAT = 'gdr-index'
// 2: the lexicon (term → top postings) beside the shards, and lexical routing.
// 3: the model also outputs the query's similarity to each node's centroid, and
//    routing ranks leaves by their estimated best fused score (no lexicalRouting).
// 4: each leaf's ids, titles and snippets in a display object of their own, read
//    only for the leaves of results.
// 5: each term's lexicon postings in (leaf, row) order (lexicon part format 2).
// 6: the leaves' centroids in an object of their own (`centroids`), compared with
//    the query outside the model, which no longer outputs centroid_sim.
// 7: Chinese, Japanese and Korean runs are read as character bigrams (words.ts),
//    by the featurizer and the lexical analyzer alike.
// 8: each leaf's part centroids beside its centroid (leaf centroids format 2),
//    which refine routing's estimate of the leaves near the plan's cut.
export const FORMAT_VERSION = 8

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'expected a sha256 hex digest')

export const FeaturizerConfigSchema = z.object({
  kind: z.literal('hashed-ngrams'),
  // At most 2^30: the featurizer's bucket ids stay non-negative 32-bit integers (and the check
  // below works on 32 bits: 2^32 and 3·2^32 would pass it). The model's table is buckets × hidden.
  buckets: z.number().int().positive().max(2 ** 30).refine((n) => (n & (n - 1)) === 0, 'buckets must be a power of two'),
  seed: z.number().int().nonnegative(),
  wordBigrams: z.boolean(),
  /** Inclusive [min, max] character n-gram lengths; [0, 0] turns them off. */
  charNgrams: z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]),
  weights: z.object({ word: z.number(), bigram: z.number(), char: z.number() }),
  maxTokens: z.number().int().positive(),
  maxTokenLength: z.number().int().positive(),
})
export type FeaturizerConfig = z.infer<typeof FeaturizerConfigSchema>

/**
 * The cluster tree in breadth-first order: node 0 is the root, siblings are
 * contiguous, and `parent[i] < i`. Leaves are the nodes with no children.
 */
export const TreeSchema = z.object({
  parent: z.array(z.number().int().min(-1)),
})
export type TreeSpec = z.infer<typeof TreeSchema>

const ObjectRefSchema = z.object({
  key: z.string().min(1),
  bytes: z.number().int().positive(),
  sha256: sha256Hex,
})

/** A leaf: its shard (`key`: what scoring reads) and its display object (what results show). */
export const ShardEntrySchema = z.object({
  /** The cluster ID: child positions on the path from the root to this leaf. */
  cid: z.array(z.number().int().nonnegative()),
  node: z.number().int().positive(),
  key: z.string().min(1),
  docs: z.number().int().nonnegative(),
  bytes: z.number().int().positive(),
  sha256: sha256Hex,
  display: ObjectRefSchema,
})
export type ShardEntry = z.infer<typeof ShardEntrySchema>

export const ModelEntrySchema = z.object({
  key: z.string().min(1),
  bytes: z.number().int().positive(),
  sha256: sha256Hex,
  hidden: z.number().int().positive(),
  decoderHidden: z.number().int().positive(),
  quantization: z.literal('int8-weights'),
})

export const LexicalConfigSchema = z.object({
  kind: z.literal('bm25'),
  k1: z.number().positive(),
  b: z.number().min(0).max(1),
  /** Mean document length in terms, over the whole corpus. */
  avgDocLength: z.number().nonnegative(),
  /** Seed of the 32-bit term hash. */
  seed: z.number().int().nonnegative(),
})
export type LexicalConfig = z.infer<typeof LexicalConfigSchema>

/** One part of the lexicon: the terms whose hash is `part` modulo the number of parts. */
export const LexiconPartEntrySchema = z.object({
  part: z.number().int().nonnegative(),
  key: z.string().min(1),
  terms: z.number().int().nonnegative(),
  bytes: z.number().int().positive(),
  sha256: sha256Hex,
})
export type LexiconPartEntry = z.infer<typeof LexiconPartEntrySchema>

/**
 * The corpus-wide term table: every term's idf and its `topK` highest-weighted
 * postings (leaf, row, weight), split by term hash into small parts so a query
 * reads only the parts of its own terms.
 */
export const LexiconSchema = z.object({
  topK: z.number().int().positive(),
  parts: z.array(LexiconPartEntrySchema).min(1),
})
export type Lexicon = z.infer<typeof LexiconSchema>

export const SearchDefaultsSchema = z.object({
  /** Weight of the cluster probability in the fused score (GDR's α). */
  alpha: z.number().nonnegative(),
  /** Weight of the normalized BM25 score of the probed documents (0 = dense only). */
  beta: z.number().nonnegative(),
  /** Beam width of the constrained cluster-ID decoder. */
  beam: z.number().int().positive(),
  /** Probe budget: clusters are read, best estimate first (planProbe), until this many documents are covered. */
  probeDocs: z.number().int().positive(),
})
export type SearchDefaults = z.infer<typeof SearchDefaultsSchema>

export const ManifestSchema = z.object({
  format: z.literal(FORMAT),
  formatVersion: z.literal(FORMAT_VERSION),
  name: z.string().min(1),
  version: z.string().regex(/^[A-Za-z0-9._-]+$/),
  createdAt: z.string(),
  docs: z.number().int().nonnegative(),
  dims: z.number().int().positive(),
  vectors: z.object({ quantization: z.literal('int8-per-vector-scale'), normalized: z.boolean() }),
  featurizer: FeaturizerConfigSchema,
  lexical: LexicalConfigSchema,
  lexicon: LexiconSchema,
  model: ModelEntrySchema,
  /** Every leaf's unit centroid (shard-codec's leaf centroids): routing's dense estimate of a leaf. */
  centroids: ObjectRefSchema,
  tree: TreeSchema,
  search: SearchDefaultsSchema,
  shards: z.array(ShardEntrySchema),
})
export type Manifest = z.infer<typeof ManifestSchema>

/** The small object in R2 that names the version being served. */
export const PointerSchema = z.object({
  version: z.string().regex(/^[A-Za-z0-9._-]+$/),
  manifest: z.string().min(1),
  publishedAt: z.string(),
})
export type Pointer = z.infer<typeof PointerSchema>

/** The pointer production reads; other deployments (preview) read their own pointer beside it. */
export const DEFAULT_POINTER = 'current'
/** What an index name (the R2 prefix of its versions and pointers) must be, said once for every check of it. */
export const INDEX_NAME_RULE = 'non-empty, without "/"'

/** True when `name` can be an index name: it is one segment of the R2 keys (`<name>/versions/…`). */
export function isIndexName(name: string): boolean {
  return name !== '' && !name.includes('/')
}

export const POINTER_NAME = /^[a-z0-9][a-z0-9_-]*$/

/**
 * R2 keys of an index: every version under its own prefix, and named pointers
 * (`current`, `preview`, …) beside them, each naming one version.
 */
export const keys = {
  pointer: (name: string, pointer: string = DEFAULT_POINTER) => `${name}/${pointer}.json`,
  versionsPrefix: (name: string) => `${name}/versions/`,
  versionPrefix: (name: string, version: string) => `${name}/versions/${version}/`,
  manifest: (name: string, version: string) => `${name}/versions/${version}/manifest.json`,
}

/** Every object of a version besides its manifest (keys relative to the version prefix), with its content type. */
export function manifestObjects(manifest: Manifest): { key: string; bytes: number; sha256: string; contentType: string }[] {
  const msgpack = ({ key, bytes, sha256 }: { key: string; bytes: number; sha256: string }) => ({ key, bytes, sha256, contentType: 'application/msgpack' })
  const { key, bytes, sha256 } = manifest.model
  return [{ key, bytes, sha256, contentType: 'application/octet-stream' }, msgpack(manifest.centroids), ...manifest.shards.flatMap((s) => [msgpack(s), msgpack(s.display)]), ...manifest.lexicon.parts.map(msgpack)]
}

/** Where builds put the model, relative to the version prefix: the Worker starts reading it before the manifest says so. */
export const MODEL_KEY = 'model.onnx'
/** Where builds put the leaf centroids, relative to the version prefix (read with the model, the same way). */
export const CENTROIDS_KEY = 'centroids.msgpack'

export function parseManifest(json: unknown): Manifest {
  const { format, formatVersion: version } = (json ?? {}) as { format?: unknown; formatVersion?: unknown }
  if (format === FORMAT && typeof version === 'number' && version !== FORMAT_VERSION) {
    // Another version reads its text differently (or its objects): serving it would answer wrongly, so say what to do.
    throw new Error(`manifest: index format version ${version}; this release reads version ${FORMAT_VERSION}: rebuild the index with this release's gdr build`)
  }
  const manifest = ManifestSchema.parse(json)
  checkTree(manifest)
  return manifest
}

// Structural invariants zod cannot express: the tree is BFS-ordered, every leaf has one shard, keys are distinct.
function checkTree(manifest: Manifest): void {
  const { parent } = manifest.tree
  if (parent[0] !== -1) throw new Error('manifest tree: node 0 must be the root')
  for (let i = 1; i < parent.length; i++) {
    if (!(parent[i] >= 0 && parent[i] < i && parent[i] >= parent[i - 1])) {
      throw new Error(`manifest tree: node ${i} breaks breadth-first order`)
    }
  }
  const tree = buildTree(manifest.tree)
  const { leaves } = tree
  const shardNodes = new Set(manifest.shards.map((s) => s.node))
  if (shardNodes.size !== manifest.shards.length || leaves.some((l) => !shardNodes.has(l)) || shardNodes.size !== leaves.length) {
    throw new Error('manifest: every leaf of the tree must have exactly one shard')
  }
  // A shard read back is checked against its entry's cid (shard-cache.ts), and the probe budget counts its docs:
  // an entry that disagrees with the tree or the corpus would fail every query, or misjudge the budget, instead of the load.
  const wrongCid = manifest.shards.find((s) => cidKey(s.cid) !== cidKey(clusterId(tree, s.node)))
  if (wrongCid) throw new Error(`manifest: shard of node ${wrongCid.node} has cluster ID [${wrongCid.cid}], not its path in the tree [${clusterId(tree, wrongCid.node)}]`)
  const shardDocs = manifest.shards.reduce((sum, s) => sum + s.docs, 0)
  if (shardDocs !== manifest.docs) throw new Error(`manifest: the shards hold ${shardDocs} documents, not the index's ${manifest.docs}`)
  if (manifest.lexicon.parts.some((p, i) => p.part !== i)) throw new Error('manifest lexicon: parts must be listed in order, 0 to n − 1')
  // The isolate caches decoded objects by key: two objects under one key would be read as each other.
  const objectKeys = manifestObjects(manifest).map((o) => o.key)
  if (new Set(objectKeys).size !== objectKeys.length) throw new Error('manifest: every object (model, centroids, shard, display object, lexicon part) needs a key of its own')
}

/** The lexicon part that holds a term, of `parts`. */
export function lexiconPartOf(term: number, parts: number): number {
  return term % parts
}
