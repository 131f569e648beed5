// `gdr build`: corpus → index folder (manifest.json, model.onnx, shards/*.msgpack, display/*.msgpack, lexicon/*.msgpack).

import { mkdirSync, readdirSync, realpathSync, renameSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs'
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path'
import { DEFAULT_FEATURIZER, featurize, type SparseFeatures } from '../../src/core/featurizer.ts'
import { CENTROIDS_KEY, FORMAT, FORMAT_VERSION, INDEX_NAME_RULE, isIndexName, MODEL_KEY, parseManifest, type FeaturizerConfig, type LexicalConfig, type LexiconPartEntry, type Manifest, type SearchDefaults, type ShardEntry } from '../../src/core/manifest.ts'
import { buildTree, cidKey, clusterId, type ClusterTree } from '../../src/core/tree.ts'
import { dequantizeModel, forward, internalNodes, quantizeModel, type QuantizedQueryModel, type QueryModelParams, type QueryModelWeights } from '../../src/core/query-model.ts'
import { quantizeRows, ScaleOverflowError, type QuantizedRows } from '../../src/core/quant.ts'
import { encodeLeafCentroids, encodeLexiconPart, encodeShard, encodeShardDisplay, sha256Hex } from '../../src/core/shard-codec.ts'
import { CentroidTable, type LeafCentroids, type PartCentroids } from '../../src/core/centroids.ts'
import { partCentroids } from './part-centroids.ts'
import { LeafDocuments, type LexiconPart } from '../../src/core/lexical.ts'
import { beamFor, byPlace, clusterParts, fuseCluster, lexicalQuery, lexiconPartsOf, probeCandidates, queryTerms, queryVector, rankCandidates, type ClusterParts, type Hit, type ScoredVectors } from '../../src/core/search.ts'
import { TopK } from '../../src/core/score.ts'
import { createReporter, stageClock, type Reporter, type StageTimer } from '../progress.ts'
import { readCorpus, type CorpusDoc } from './corpus.ts'
import { FeatureArena } from './feature-arena.ts'
import { inverseDocumentFrequency, randomizedSvd, tfidfRows } from './lsa.ts'
import { buildClusterTree } from './cluster-tree.ts'
import { DEFAULT_PSEUDO_QUERIES, pseudoQueriesFor, type PseudoQuery } from './pseudo-queries.ts'
import { DEFAULT_TRAINING, epochsFor, train, trainingExamplesFor, type ExampleSet, type TextExample, type TrainingData, type TrainingExample, type TrainingOptions } from './train.ts'
import { QueryExamples } from './query-examples.ts'
import { exportOnnx } from './onnx-export.ts'
import { checkModelFile } from './model-check.ts'
import { DEFAULT_DUAL_ENCODER, documentVectors, trainDualEncoder } from './dual-encoder.ts'
import { nodeDenseKernel, nodeLexicalKernel } from '../node-kernel.ts'
import { analyzeCorpus, buildLexicon, LEXICON_TOP_K, postingsFor, type LexicalCorpus } from './lexical-index.ts'
import { assignRoutes, DEFAULT_TEACHER } from './routing-teacher.ts'
import { createRng, gaussian, MAX_SEED, shuffle, type Rng } from './random.ts'
import { MANIFEST_FILE } from '../../src/core/publish.ts'
import { chooseVectors, heldOutScore, type CandidateScore, type VectorCandidate, type VectorSource } from './vector-choice.ts'

export interface BuildOptions {
  corpus: string
  out: string
  name: string
  dims: number
  buckets: number
  decoderHidden: number
  /** Memory budget of the decoder: the most leaf clusters the tree may have. */
  maxLeaves: number
  /** Documents per leaf for corpora too small to fill the budget. */
  leafSize: number
  /** Document vectors: LSA as is, the dual encoder's refinement of it, or (`auto`) whichever scores better on held-out pseudo-queries. */
  encoder: EncoderMode
  /** Epochs of dual-encoder training, when it trains. */
  encoderEpochs: number
  branching: number
  probeDocs: number
  epochs: number
  seed: number
  skipBad: boolean
}

export const DEFAULT_BUILD: Omit<BuildOptions, 'corpus' | 'out'> = {
  name: 'default',
  dims: 96,
  buckets: 1 << 16,
  decoderHidden: 16,
  maxLeaves: 1024,
  leafSize: 64,
  encoder: 'auto',
  encoderEpochs: 2,
  branching: 32,
  // Chosen for the scale target (npm 186K: exact top-10 coverage ≥ 0.95 within 2% of the
  // index's bytes per query, .tmp/split.mts): about 30 of its 1,024 leaves.
  probeDocs: 5632,
  epochs: DEFAULT_TRAINING.epochs,
  seed: 1,
  skipBad: false,
}

export interface BuildSummary {
  manifest: Manifest
  dir: string
  seconds: Record<string, number>
  skipped: number
  heldOut: { queries: number; mrr10: number }
  /** Where the document vectors came from, and (encoder `auto`) how each candidate scored. */
  vectors: { source: VectorSource | 'corpus'; scores: CandidateScore[] }
}

export type EncoderMode = 'auto' | VectorSource

/** A build that cannot start or would write a broken index: the message is the whole story. */
export class BuildError extends Error {
  override name = 'BuildError'
}

// The grids reach past where builds have chosen (1M synthetic: α 0.5; npm 186K: β 3), so a choice at an edge means it.
const ALPHAS = [0, 0.05, 0.1, 0.2, 0.5, 1]
const BETAS = [0, 0.1, 0.2, 0.35, 0.5, 0.75, 1, 1.5, 2, 3, 5]
const quietReporter = createReporter(true)
const SNIPPET_CHARS = 240
/** Skipped lines named in the summary that --quiet still prints. */
const SHOWN_BAD_LINES = 3

export async function buildIndex(options: BuildOptions, reporter: Reporter): Promise<BuildSummary> {
  checkBeforeBuilding(options)
  const { seconds, timed } = stageClock()
  const rng = createRng(options.seed)
  const featurizer: FeaturizerConfig = { ...DEFAULT_FEATURIZER, buckets: options.buckets }

  const shownBadLines: string[] = []
  const onBadLine = (line: number, reason: string) => {
    reporter.log(`skipping line ${line}: ${reason}`)
    if (shownBadLines.length < SHOWN_BAD_LINES) shownBadLines.push(`line ${line}: ${reason}`)
  }
  const { docs, skipped, empty } = await timed('read', () => readCorpus(options.corpus, { skipBad: options.skipBad, onBadLine }))
  // Dropped data, not progress: said even with --quiet.
  if (skipped) reporter.warn(`skipped ${skipped} bad line${skipped === 1 ? '' : 's'} of ${options.corpus}: ${shownBadLines.join('; ')}${skipped > shownBadLines.length ? '; …' : ''}`)
  reporter.log(`read ${docs.length} documents from ${options.corpus}${skipped ? `, skipped ${skipped} bad lines` : ''}${empty ? `; ${empty} documents are empty and can never match` : ''}`)

  // Documents whose pseudo-queries are never trained on: held-out queries measure what real
  // queries meet (documents the model never saw asked for), and gdr bench asks about them.
  const heldOutDocs = chooseHeldOutDocs(docs.length, createRng(options.seed ^ 0x68e31da4))
  const provided = providedVectors(docs)
  if (provided) {
    options = { ...options, dims: provided.dims }
    reporter.log(`using the corpus's own ${provided.dims}-dimensional vectors (the "vector" field)${options.encoder === 'auto' ? '' : `; --encoder ${options.encoder} does not apply to them`}`)
  }
  const { vectors, lexical } = await vectorize(docs, featurizer, provided, heldOutDocs, options, rng, timed, reporter)
  const { embedding, docVectors } = vectors
  const clusters = await timed('cluster', () => {
    const leaves = Math.min(options.maxLeaves, Math.max(1, Math.ceil(docs.length / options.leafSize)))
    const result = buildClusterTree(docVectors, options.dims, { leaves, branching: options.branching }, rng)
    const sizes = [...result.members.values()].map((m) => m.length).sort((a, b) => a - b)
    reporter.log(`cluster: ${sizes.length} leaves, docs per leaf min ${sizes[0]} median ${sizes[sizes.length >> 1]} max ${sizes[sizes.length - 1]}`)
    return result
  })
  const tree = buildTree(clusters.tree)
  const data: TrainingData = { tree, docVectors, leafOf: clusters.leafOf, members: clusters.members }

  const { trainSet, heldOut } = await timed('queries', () => makeExamples(docs, featurizer, rng, heldOutDocs))
  const params = initialParams(embedding, tree, docVectors, clusters.members, options, trainSet, rng)
  const quantizedDocs = quantizeRows(docVectors, docs.length, options.dims)
  const leaves = leafShards(tree, clusters.members, quantizedDocs, lexical)
  const lexicon = await timed('lexicon', () => buildLexicon(leaves.values()))
  const centroids = await timed('parts', () => leafCentroids(params, tree, partCentroids(tree.leaves, clusters.members, docVectors, options.dims)))
  const corpusTerms: CorpusTerms = { config: lexical.config, lexicon, centroids: new CentroidTable(centroids, tree, options.dims, nodeDenseKernel()) }
  await timed('teacher', () => {
    // The teacher fuses dense and lexical scores with the β that suits the untrained model.
    const { beta } = chooseSearchDefaults(params, tree, leaves, corpusTerms, heldOut, options, quietReporter).defaults
    const routed = Math.min(trainSet.length, DEFAULT_TEACHER.maxQueries)
    const stage = reporter.stage('teacher', routed, 'queries')
    trainSet.setRoutes(assignRoutes(trainSet, params, [...leaves.values()], lexical.config, lexicon, { ...DEFAULT_TEACHER, beta }, (done) => stage.tick(done)))
    stage.done(`routing targets for ${routed} of ${trainSet.length} pseudo-queries (β=${beta})`)
  })
  const training: TrainingOptions = { ...DEFAULT_TRAINING, epochs: options.epochs }
  await timed('train', () => {
    const epochs = epochsFor(training, trainSet.length)
    const total = trainingExamplesFor(training, trainSet.length)
    const stage = reporter.stage('train', total, 'examples')
    let last = ''
    train(params, data, trainSet, training, rng, (done) => stage.tick(done), (r) => {
      last = `cluster loss ${r.clusterLoss.toFixed(3)}, dense loss ${r.denseLoss.toFixed(3)}`
      if (epochs <= 10) reporter.log(`epoch ${r.epoch}: ${last}`)
    })
    stage.done(`${(total / trainSet.length).toFixed(total % trainSet.length ? 2 : 0)} epochs over ${trainSet.length} pseudo-queries; final ${last}`)
  })
  checkFinite('train', modelWeights(params))

  const quantizedModel = quantizeForExport(params)
  const exportedWeights = dequantizeModel(quantizedModel)
  const search = await timed('tune', () => chooseSearchDefaults(exportedWeights, tree, leaves, corpusTerms, heldOut, options, reporter))

  const modelBytes = await timed('export', async () => {
    const bytes = exportOnnx(quantizedModel, tree)
    const check = await checkModelFile(bytes, exportedWeights, tree, heldOut.map((q) => q.features))
    reporter.log(`model: ${bytes.length} bytes; on ${check.queries} queries the runtime is within ${check.vsOrt.toExponential(1)} of onnxruntime-web and ${check.vsForward.toExponential(1)} of forward()`)
    return bytes
  })
  const summary = await timed('write', () => writeIndex(options, docs, tree, leaves, lexicon, modelBytes, centroids, featurizer, lexical.config, search.defaults, heldOutDocs))
  return { manifest: summary.manifest, dir: summary.dir, seconds, skipped, heldOut: { queries: heldOut.length, mrr10: search.mrr10 }, vectors: { source: vectors.source, scores: vectors.scores } }
}

/** Refuses, before any work, what would only fail (or do harm) at the end of a long build. */
function checkBeforeBuilding(options: BuildOptions): void {
  if (!isIndexName(options.name)) throw new BuildError(`invalid index name "${options.name}" (${INDEX_NAME_RULE})`)
  if (!(Number.isInteger(options.seed) && options.seed >= 0 && options.seed <= MAX_SEED)) throw new BuildError(`invalid seed ${options.seed}: an integer from 0 to ${MAX_SEED}`)
  checkOutFolder(options.out, options.corpus)
}

/**
 * The finished index replaces `out` whole (the old folder is deleted), so `out` must be
 * absent, an empty folder or an earlier index (it has a manifest.json), and must not hold
 * the corpus: `--out .` or `--out <the corpus's folder>` would delete the user's files.
 */
function checkOutFolder(out: string, corpus: string): void {
  const dir = resolve(out)
  if (!existsSync(dir)) return
  const refuse = (why: string) => new BuildError(`--out ${out}: ${why}; refusing to replace it (give a new or empty folder, or an index folder of an earlier build)`)
  if (!statSync(dir).isDirectory()) throw refuse('exists and is not a folder')
  if (existsSync(corpus) && isInside(realpathSync(corpus), realpathSync(dir))) throw refuse(`it holds the corpus ${corpus}`)
  if (readdirSync(dir).length > 0 && !existsSync(join(dir, MANIFEST_FILE))) throw refuse('exists, is not empty and is not an index folder (no manifest.json)')
}

function isInside(path: string, folder: string): boolean {
  const rel = relative(folder, path)
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel)
}

/**
 * Stops the build at `stage` when one of `arrays` holds NaN or ±Infinity: one such value
 * spreads through training and scoring, and the index would rank by NaN.
 */
export function checkFinite(stage: string, arrays: Record<string, Float32Array>): void {
  for (const [name, values] of Object.entries(arrays)) {
    const at = values.findIndex((x) => !Number.isFinite(x))
    if (at >= 0) throw new BuildError(`${stage}: a non-finite value (${values[at]}) in the ${name}, at ${at}; no index was written`)
  }
}

/** The int8 model; a weight its stored scale cannot hold stops the build (it would read back as NaN). */
function quantizeForExport(params: QueryModelParams): QuantizedQueryModel {
  try {
    return quantizeModel(params)
  } catch (error) {
    if (error instanceof ScaleOverflowError) {
      throw new BuildError(`quantize: the query model's ${error.matrix ?? 'weights'} table, row ${error.row}, reaches ${error.maxAbs}, past what its int8 scale can hold; no index was written (own "vector" fields far from unit length can cause this: normalize them)`)
    }
    throw error
  }
}

/** The query model's weight arrays, by name. */
function modelWeights(params: QueryModelParams): Record<string, Float32Array> {
  return Object.fromEntries(Object.entries(params).filter((entry): entry is [string, Float32Array] => entry[1] instanceof Float32Array).map(([name, values]) => [`model weights ${name}`, values]))
}

/**
 * The document vectors (and the corpus's lexical statistics, which the vector
 * choice scores with). The documents' features live only in this call: at 1M
 * documents they are 270 million entries, garbage once the vectors are made.
 */
async function vectorize(docs: CorpusDoc[], featurizer: FeaturizerConfig, provided: { vectors: Float32Array } | undefined, heldOutDocs: ReadonlySet<number>, options: BuildOptions, rng: Rng, timed: StageTimer, reporter: Reporter) {
  const docFeatures = await timed('featurize', () => featurizeAll(docs, featurizer, reporter))
  const lsa = await timed('encode', () => encodeDocuments(docFeatures, provided?.vectors, options, rng, reporter))
  checkFinite('encode', { 'document vectors': lsa.docVectors, 'embedding table': lsa.embedding })
  const lexical = await timed('lexical', () => analyzeCorpus(docs.map(documentText)))
  const vectors = await timed('encoder', () => (provided ? { ...lsa, source: 'corpus' as const, scores: [] } : chooseDocumentVectors(docs, docFeatures, lsa, lexical, heldOutDocs, featurizer, options, reporter)))
  checkFinite('encoder', { 'document vectors': vectors.docVectors, 'embedding table': vectors.embedding })
  return { vectors, lexical }
}

function featurizeAll(docs: CorpusDoc[], config: FeaturizerConfig, reporter: Reporter): SparseFeatures[] {
  const stage = reporter.stage('featurize', docs.length, 'docs')
  const arena = new FeatureArena()
  const features = docs.map((doc, i) => {
    if (i % 1000 === 0) stage.tick(i)
    return arena.keep(featurize(documentText(doc), config))
  })
  stage.done(`${docs.length} documents`)
  return features
}

/** Documents in the vector choice's pool: the whole corpus up to this size, a sample of it past that. */
const CHOICE_POOL_DOCS = 50_000

/**
 * The LSA vectors, or the dual encoder's trained from them (scripts/build/vector-choice.ts):
 * `encoder` names one, or `auto` trains the encoder and keeps the better on the
 * encoder's own held-out span queries. The encoder has its own random stream, so
 * a build that keeps LSA is the same index as one that never trained it.
 */
function chooseDocumentVectors(docs: CorpusDoc[], docFeatures: SparseFeatures[], lsa: { embedding: Float32Array; docVectors: Float32Array }, lexical: LexicalCorpus, heldOutDocs: ReadonlySet<number>, featurizer: FeaturizerConfig, options: BuildOptions, reporter: Reporter) {
  const kept = (candidate: VectorCandidate, scores: CandidateScore[]) => ({ ...candidate, scores })
  const lsaCandidate: VectorCandidate = { source: 'lsa', ...lsa }
  if (options.encoder === 'lsa') return kept(lsaCandidate, [])
  const encoderRng = createRng(options.seed ^ 0x5bd1e995)
  const { trainSet, heldOut } = makeExamples(docs, featurizer, encoderRng, heldOutDocs)
  if (options.encoder === 'auto' && heldOut.length === 0) {
    reporter.log('vectors: no held-out span queries to choose by: keeping LSA without training the encoder')
    return kept(lsaCandidate, [])
  }
  const encoder = { ...DEFAULT_DUAL_ENCODER, epochs: options.encoderEpochs }
  const embedding = Float32Array.from(lsa.embedding)
  const stage = reporter.stage('encoder', Math.min(encoder.epochs * trainSet.length, encoder.maxExamples), 'examples')
  const loss = trainDualEncoder(embedding, options.dims, docFeatures, trainSet, encoder, encoderRng, (done) => stage.tick(done))
  stage.done(`dual encoder trained from the LSA fold-in, final in-batch loss ${loss.toFixed(3)}`)
  const trained: VectorCandidate = { source: 'trained', embedding, docVectors: documentVectors(embedding, options.dims, docFeatures) }
  if (options.encoder === 'trained') return kept(trained, [])
  const poolDocs = choicePool(docs.length, heldOut.map((q) => q.doc), encoderRng)
  const pool = { docs: poolDocs, postings: postingsFor(lexical, poolDocs), config: lexical.config }
  const kernel = nodeDenseKernel()
  const scores = [lsaCandidate, trained].map((candidate) => heldOutScore(candidate, options.dims, pool, heldOut, BETAS, kernel))
  const source = chooseVectors(scores)
  const described = scores.map((s) => `${s.source} ${s.mrr10.toFixed(4)} (β=${s.beta})`).join(', ')
  reporter.log(`vectors: held-out MRR@10 over ${heldOut.length} span queries among ${poolDocs.length} documents, ${described}: keeping ${source === 'lsa' ? 'LSA' : 'the trained vectors'}`)
  return kept(source === 'lsa' ? lsaCandidate : trained, scores)
}

/** The held-out queries' own documents and a sample of the rest, CHOICE_POOL_DOCS in all (the whole corpus when it is smaller), in corpus order. */
function choicePool(docs: number, wanted: number[], rng: Rng): number[] {
  if (docs <= CHOICE_POOL_DOCS) return Array.from({ length: docs }, (_, i) => i)
  const chosen = new Set(wanted)
  const others = shuffle(Array.from({ length: docs }, (_, i) => i).filter((d) => !chosen.has(d)), rng)
  for (const d of others) {
    if (chosen.size >= CHOICE_POOL_DOCS) break
    chosen.add(d)
  }
  return [...chosen].sort((a, b) => a - b)
}

export function documentText(doc: CorpusDoc): string {
  return doc.title ? `${doc.title}\n${doc.text}` : doc.text
}

/**
 * Unit document vectors and the query model's starting embedding table. Without
 * vectors in the corpus: LSA, with the fold-in table idf·V. With them: those vectors,
 * and the table idf·V·Σ⁻²·(UΣ)ᵀY, the least-squares map from the features' LSA
 * subspace to the given space, so the untrained model already lands near them.
 */
function encodeDocuments(features: SparseFeatures[], provided: Float32Array | undefined, options: BuildOptions, rng: Rng, reporter: Reporter) {
  const dims = options.dims
  const idf = inverseDocumentFrequency(features, options.buckets)
  const X = tfidfRows(features, idf)
  const rank = provided ? Math.min(dims, 128) : dims
  const stage = reporter.stage('encode', 100, '% of SVD')
  const svd = randomizedSvd(X, rank, rng, (done, total) => stage.tick(Math.round((100 * done) / total)), { maxNonZeros: LSA_MAX_NONZEROS })
  const embedding = new Float32Array(options.buckets * dims)
  if (provided) {
    // Per SVD direction c, the vector the table adds per unit of V[f, c] (before idf).
    const perDirection = leastSquaresMap(svd.rowVectors, svd.singularValues, provided, X.rows, rank, dims)
    for (let b = 0; b < options.buckets; b++) {
      for (let c = 0; c < rank; c++) {
        const v = idf[b] * svd.colVectors[b * rank + c]
        if (v === 0) continue
        for (let j = 0; j < dims; j++) embedding[b * dims + j] += v * perDirection[c * dims + j]
      }
    }
  } else {
    // The LSA fold-in: E[f] = idf_f · V[f].
    for (let i = 0; i < embedding.length; i++) embedding[i] = idf[Math.floor(i / dims)] * svd.colVectors[i]
  }
  const docVectors = provided ? Float32Array.from(provided) : svd.rowVectors
  for (let i = 0; i < X.rows; i++) normalizeRow(docVectors, i, dims)
  stage.done(`${X.rows} docs × ${dims} dims (${provided ? 'vectors from the corpus' : 'LSA'}) from ${X.nonZeros} tf-idf entries`)
  return { docVectors, embedding }
}

/** A[c] = Σ_d (UΣ)[d, c] · Y[d] / σ_c²: (Uᵀ Y) / σ, row c. */
function leastSquaresMap(rowVectors: Float32Array, sigma: Float64Array, Y: Float32Array, rows: number, rank: number, dims: number): Float64Array {
  const A = new Float64Array(rank * dims)
  for (let d = 0; d < rows; d++) {
    for (let c = 0; c < rank; c++) {
      const r = rowVectors[d * rank + c]
      if (r === 0) continue
      for (let j = 0; j < dims; j++) A[c * dims + j] += r * Y[d * dims + j]
    }
  }
  const top = sigma[0] || 1
  for (let c = 0; c < rank; c++) {
    const s2 = sigma[c] > 1e-7 * top ? sigma[c] * sigma[c] : Infinity
    for (let j = 0; j < dims; j++) A[c * dims + j] /= s2
  }
  return A
}

/** The corpus's vectors as one matrix, when its documents bring them. */
function providedVectors(docs: CorpusDoc[]): { vectors: Float32Array; dims: number } | undefined {
  const dims = docs[0]?.vector?.length
  if (!dims) return undefined
  const vectors = new Float32Array(docs.length * dims)
  docs.forEach((doc, i) => vectors.set(doc.vector!, i * dims))
  return { vectors, dims }
}

function normalizeRow(m: Float32Array, row: number, dims: number) {
  let norm = 0
  for (let d = 0; d < dims; d++) norm += m[row * dims + d] ** 2
  norm = Math.sqrt(norm)
  if (norm > 0) for (let d = 0; d < dims; d++) m[row * dims + d] /= norm
}

/** How many documents are held out of training: 10%, at most 500 (up to 1,000 span queries). */
export function heldOutDocCount(docs: number): number {
  return Math.min(500, Math.ceil(docs * 0.1))
}

function chooseHeldOutDocs(docs: number, rng: Rng): Set<number> {
  const order = shuffle(Array.from({ length: docs }, (_, i) => i), rng)
  return new Set(order.slice(0, heldOutDocCount(docs)))
}

/** Pseudo-queries of the training documents, and the span queries of the held-out ones (for choosing α and β). */
function makeExamples(docs: CorpusDoc[], config: FeaturizerConfig, rng: Rng, heldOutDocs: ReadonlySet<number>) {
  const queries: PseudoQuery[] = docs.flatMap((doc, i) => pseudoQueriesFor(doc, i, DEFAULT_PSEUDO_QUERIES, rng))
  shuffle(queries, rng)
  const heldOut = queries.filter((q) => heldOutDocs.has(q.doc) && q.kind === 'span').map((q): TextExample => ({ features: featurize(q.text, config), doc: q.doc, text: q.text }))
  const trainSet = new QueryExamples(queries.filter((q) => !heldOutDocs.has(q.doc)), config)
  return { trainSet, heldOut }
}

/** Time budget of the SVD: a corpus with more tf-idf entries is factored on a sample of its documents (186K npm descriptions: 27M, whole). */
const LSA_MAX_NONZEROS = 32_000_000

/** Initial gain of the nearest-centroid prior: sharp enough that routing starts as IVF. */
const INITIAL_GAMMA = 10

function initialParams(embedding: Float32Array, tree: ClusterTree, docVectors: Float32Array, members: Map<number, number[]>, options: BuildOptions, sample: ExampleSet<TrainingExample>, rng: Rng): QueryModelParams {
  const { dims: D, decoderHidden: Hd, buckets } = options
  const H = D
  // Scale the table so a typical query's bag has unit norm: the decoder then starts in tanh's linear range.
  let meanNorm = 0
  const n = Math.min(sample.length, 500)
  for (let i = 0; i < n; i++) {
    const h = new Float64Array(H)
    const { ids, values } = sample.at(i)!.features
    for (let k = 0; k < ids.length; k++) for (let j = 0; j < H; j++) h[j] += values[k] * embedding[ids[k] * H + j]
    meanNorm += Math.hypot(...h) / n
  }
  if (meanNorm > 0) for (let i = 0; i < embedding.length; i++) embedding[i] /= meanNorm
  const random = (count: number, std: number) => Float32Array.from({ length: count }, () => gaussian(rng) * std)
  const centroids = nodeCentroids(tree, docVectors, members, D)
  return {
    buckets, hidden: H, dims: D, decoderHidden: Hd,
    E: embedding,
    Wq: identity(D),
    bq: new Float32Array(D),
    Ed: randomProjection(embedding, buckets, H, Hd, rng),
    bd: new Float32Array(Hd),
    P: random(internalNodes(tree).length * Hd, 0.1),
    // Small: the memory terms start near zero, so the decoder starts as the centroid prior.
    U: random((tree.size - 1) * Hd, 0.01),
    beta: new Float32Array(tree.size - 1),
    M: centroids,
    gamma: Float32Array.of(INITIAL_GAMMA),
    C: centroids.slice(),
  }
}

/** table · R for a random H × Hd matrix R: the decoder's memory starts as a projection of the query's. */
function randomProjection(table: Float32Array, rows: number, H: number, Hd: number, rng: Rng): Float32Array {
  const R = Float32Array.from({ length: H * Hd }, () => gaussian(rng) / Math.sqrt(H))
  const out = new Float32Array(rows * Hd)
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < H; i++) {
      const x = table[r * H + i]
      if (x === 0) continue
      for (let j = 0; j < Hd; j++) out[r * Hd + j] += x * R[i * Hd + j]
    }
  }
  return out
}

/** Unit mean direction of every non-root node's documents (row c − 1 for node c). */
function nodeCentroids(tree: ClusterTree, docVectors: Float32Array, members: Map<number, number[]>, dims: number): Float32Array {
  const sums = new Float64Array(tree.size * dims)
  for (const [leaf, docs] of members) for (const doc of docs) for (let j = 0; j < dims; j++) sums[leaf * dims + j] += docVectors[doc * dims + j]
  // Children come after their parents in breadth-first order: fold sums upwards from the end.
  for (let node = tree.size - 1; node > 0; node--) for (let j = 0; j < dims; j++) sums[tree.parent[node] * dims + j] += sums[node * dims + j]
  const M = new Float32Array((tree.size - 1) * dims)
  for (let node = 1; node < tree.size; node++) {
    const norm = Math.hypot(...sums.subarray(node * dims, (node + 1) * dims)) || 1
    for (let j = 0; j < dims; j++) M[(node - 1) * dims + j] = sums[node * dims + j] / norm
  }
  return M
}

/** The frozen C rows of the leaves, int8 as the model's other node matrices, and their parts: what the Worker compares a query with. */
function leafCentroids(params: QueryModelParams, tree: ClusterTree, parts: PartCentroids): LeafCentroids {
  const { dims } = params
  const C = quantizeRows(params.C, tree.size - 1, dims)
  const nodes = Uint32Array.from(tree.leaves)
  const vectors = new Int8Array(nodes.length * dims)
  const scales = new Float32Array(nodes.length)
  nodes.forEach((node, row) => {
    vectors.set(C.values.subarray((node - 1) * dims, node * dims), row * dims)
    scales[row] = C.scales[node - 1]
  })
  return { dims, nodes, vectors, scales, parts }
}

function identity(n: number): Float32Array {
  const m = new Float32Array(n * n)
  for (let i = 0; i < n; i++) m[i * n + i] = 1
  return m
}

/** A leaf's shard as scored: its documents (corpus indices), int8 vectors and postings. */
interface LeafShard extends ScoredVectors {
  node: number
  docs: number[]
}

function leafShards(tree: ClusterTree, members: Map<number, number[]>, vectors: QuantizedRows, lexical: LexicalCorpus): Map<number, LeafShard> {
  const shards = new Map<number, LeafShard>()
  for (const node of tree.leaves) {
    const docs = members.get(node) ?? []
    const shardVectors = new Int8Array(docs.length * vectors.dims)
    const scales = new Float32Array(docs.length)
    docs.forEach((doc, r) => {
      shardVectors.set(vectors.values.subarray(doc * vectors.dims, (doc + 1) * vectors.dims), r * vectors.dims)
      scales[r] = vectors.scales[doc]
    })
    shards.set(node, { node, docs, vectors: shardVectors, scales, postings: postingsFor(lexical, docs) })
  }
  return shards
}

/** What routing reads besides the model: the BM25 configuration, the corpus-wide lexicon and the leaf centroids. */
interface CorpusTerms {
  config: LexicalConfig
  lexicon: LexiconPart[]
  centroids: CentroidTable
}

/**
 * Picks α and β (and the beam that covers the probe budget) by MRR@10 on held-out
 * pseudo-queries, each (α, β) with its own probe plan (planProbe ranks leaves by the fused score;
 * its candidates, which α and β do not change, are found once per query).
 */
function chooseSearchDefaults(params: QueryModelWeights, tree: ClusterTree, leaves: Map<number, LeafShard>, terms: CorpusTerms, heldOut: TextExample[], options: BuildOptions, reporter: Reporter): { defaults: SearchDefaults; mrr10: number } {
  const meanLeaf = [...leaves.values()].reduce((n, l) => n + l.docs.length, 0) / leaves.size
  const beam = beamFor(options.probeDocs, meanLeaf, leaves.size)
  const leafDocuments = new LeafDocuments([...leaves.values()].map((l) => ({ node: l.node, docs: l.docs.length })), tree.size, nodeLexicalKernel())
  const kernel = nodeDenseKernel()
  const queries = heldOut.map((example) => {
    const out = forward(params, tree, example.features)
    const textTerms = queryTerms(example.text, terms.config)
    const parts = lexiconPartsOf(textTerms, terms.lexicon)
    const lexical = lexicalQuery(textTerms, terms.config, parts)
    const leafScores = leafDocuments.leafScores(lexical.counts, parts, lexical.scale, terms.config)
    const vector = queryVector(out.query)
    const sims = terms.centroids.routingSims(vector)
    return { example, sims, query: { vector, kernel }, lexical, leafScores, candidates: probeCandidates(tree, out.logits, beam, leafScores), parts: new Map<number, ClusterParts>() }
  })
  let best = { alpha: 0, beta: 0, mrr10: -1 }
  for (const beta of BETAS) {
    for (const alpha of ALPHAS) {
      // The plan depends on α and β too: planProbe ranks its candidates by their estimated fused score.
      const routing = { alpha, beta, beam, probeDocs: options.probeDocs }
      const routed = queries.map((r) => ({ ...r, probed: rankCandidates(r.candidates, r.sims, (node) => leaves.get(node)!.docs.length, routing, r.leafScores) }))
      let mrr = 0
      for (const r of routed) {
        const top = new TopK<Hit>(10, byPlace)
        // A leaf's dense and BM25 scores do not depend on α and β: computed once per query and leaf, fused per (α, β).
        for (const cluster of r.probed) {
          let parts = r.parts.get(cluster.node)
          if (!parts) r.parts.set(cluster.node, (parts = clusterParts(r.query, r.lexical, leaves.get(cluster.node)!, terms.config)))
          fuseCluster(parts, cluster, { alpha, beta }, top)
        }
        const rank = top.sorted().findIndex((h) => leaves.get(h.item.node)!.docs[h.item.row] === r.example.doc)
        if (rank >= 0) mrr += 1 / (rank + 1)
      }
      mrr /= Math.max(routed.length, 1)
      if (mrr > best.mrr10 + 1e-9) best = { alpha, beta, mrr10: mrr }
    }
  }
  reporter.log(`tune: α=${best.alpha} β=${best.beta}, held-out MRR@10 ${best.mrr10.toFixed(4)} over ${queries.length} pseudo-queries`)
  return { defaults: { alpha: best.alpha, beta: best.beta, beam, probeDocs: options.probeDocs }, mrr10: best.mrr10 }
}

/** Written next to the manifest (not published): the documents whose pseudo-queries the build never trained on. */
export const HELD_OUT_FILE = 'held-out-docs.json'

async function writeIndex(options: BuildOptions, docs: CorpusDoc[], tree: ClusterTree, leaves: Map<number, LeafShard>, lexicon: LexiconPart[], modelBytes: Uint8Array, centroids: LeafCentroids, featurizer: FeaturizerConfig, lexical: LexicalConfig, search: SearchDefaults, heldOutDocs: ReadonlySet<number>) {
  checkOutFolder(options.out, options.corpus) // again: the folder may have changed during the build
  const dir = resolve(options.out)
  const staging = `${dir}.building-${process.pid}`
  rmSync(staging, { recursive: true, force: true })
  mkdirSync(join(staging, 'shards'), { recursive: true })
  mkdirSync(join(staging, 'display'), { recursive: true })
  mkdirSync(join(staging, 'lexicon'), { recursive: true })
  const shards: ShardEntry[] = []
  for (const leaf of leaves.values()) {
    const cid = clusterId(tree, leaf.node)
    const bytes = encodeShard({ cid, dims: options.dims, vectors: leaf.vectors, scales: leaf.scales, postings: leaf.postings })
    const displayBytes = encodeShardDisplay({
      cid,
      ids: leaf.docs.map((d) => docs[d].id),
      titles: leaf.docs.map((d) => docs[d].title),
      snippets: leaf.docs.map((d) => snippet(docs[d].text)),
    })
    const key = `shards/${cidKey(cid)}.msgpack`
    const displayKey = `display/${cidKey(cid)}.msgpack`
    writeFileSync(join(staging, key), bytes)
    writeFileSync(join(staging, displayKey), displayBytes)
    const display = { key: displayKey, bytes: displayBytes.length, sha256: await sha256Hex(displayBytes) }
    shards.push({ cid, node: leaf.node, key, docs: leaf.docs.length, bytes: bytes.length, sha256: await sha256Hex(bytes), display })
  }
  const parts: LexiconPartEntry[] = []
  for (const [part, terms] of lexicon.entries()) {
    const bytes = encodeLexiconPart(terms)
    const key = `lexicon/${part}.msgpack`
    writeFileSync(join(staging, key), bytes)
    parts.push({ part, key, terms: terms.terms.length, bytes: bytes.length, sha256: await sha256Hex(bytes) })
  }
  writeFileSync(join(staging, MODEL_KEY), modelBytes)
  const modelSha = await sha256Hex(modelBytes)
  const centroidBytes = encodeLeafCentroids(centroids)
  writeFileSync(join(staging, CENTROIDS_KEY), centroidBytes)
  const centroidsRef = { key: CENTROIDS_KEY, bytes: centroidBytes.length, sha256: await sha256Hex(centroidBytes) }
  const content = { shards: shards.map((s) => [s.sha256, s.display.sha256]), lexicon: parts.map((p) => p.sha256), model: modelSha, centroids: centroidsRef.sha256, search, featurizer, lexical }
  const contentHash = (await sha256Hex(new TextEncoder().encode(JSON.stringify(content)))).slice(0, 12)
  const createdAt = new Date().toISOString()
  const manifest: Manifest = parseManifest({
    format: FORMAT,
    formatVersion: FORMAT_VERSION,
    name: options.name,
    version: `${createdAt.replace(/[-:]/g, '').slice(0, 15)}-${contentHash}`,
    createdAt,
    docs: docs.length,
    dims: options.dims,
    vectors: { quantization: 'int8-per-vector-scale', normalized: true },
    featurizer,
    lexical,
    lexicon: { topK: LEXICON_TOP_K, parts },
    model: { key: MODEL_KEY, bytes: modelBytes.length, sha256: modelSha, hidden: options.dims, decoderHidden: options.decoderHidden, quantization: 'int8-weights' },
    centroids: centroidsRef,
    tree: { parent: Array.from(tree.parent) },
    search,
    shards,
  })
  writeFileSync(join(staging, MANIFEST_FILE), JSON.stringify(manifest, null, 1))
  writeFileSync(join(staging, HELD_OUT_FILE), JSON.stringify([...heldOutDocs].sort((a, b) => a - b).map((d) => docs[d].id)))
  // Swap the finished folder in, so `out` is never a half-written index.
  mkdirSync(dirname(dir), { recursive: true })
  const previous = `${dir}.previous-${process.pid}`
  if (existsSync(dir)) renameSync(dir, previous)
  renameSync(staging, dir)
  rmSync(previous, { recursive: true, force: true })
  return { manifest, dir }
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  return flat.length <= SNIPPET_CHARS ? flat : flat.slice(0, SNIPPET_CHARS).replace(/\s+\S*$/, '') + '…'
}
