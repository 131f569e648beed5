// Document vectors from the corpus alone: TF-IDF over the shared hashed
// features, reduced by a randomized truncated SVD (latent semantic analysis).
// The right singular vectors also give the query model its starting embedding
// table, so an untrained query model already folds a query into document space.

import type { SparseFeatures } from '../../src/core/featurizer.ts'
import { type Rng, gaussian } from './random.ts'

/** Row-major sparse matrix: row i holds cols[rowStart[i]..rowStart[i+1]). */
export interface CsrMatrix {
  rows: number
  cols: number
  rowStart: Int32Array
  colIndex: Int32Array
  values: Float32Array
}

/** Smoothed inverse document frequency per bucket: ln((1 + N) / (1 + df)) + 1. */
export function inverseDocumentFrequency(docs: SparseFeatures[], buckets: number): Float32Array {
  const df = new Float64Array(buckets)
  for (const doc of docs) for (let i = 0; i < doc.ids.length; i++) df[doc.ids[i]]++
  const idf = new Float32Array(buckets)
  for (let b = 0; b < buckets; b++) idf[b] = Math.log((1 + docs.length) / (1 + df[b])) + 1
  return idf
}

/** L2-normalized TF-IDF rows. */
export function tfidfMatrix(docs: SparseFeatures[], idf: Float32Array): CsrMatrix {
  const rowStart = new Int32Array(docs.length + 1)
  docs.forEach((doc, i) => (rowStart[i + 1] = rowStart[i] + doc.ids.length))
  const nnz = rowStart[docs.length]
  const colIndex = new Int32Array(nnz)
  const values = new Float32Array(nnz)
  docs.forEach((doc, i) => {
    colIndex.set(doc.ids, rowStart[i])
    tfidfRow(doc, idf, values.subarray(rowStart[i], rowStart[i + 1]))
  })
  return { rows: docs.length, cols: idf.length, rowStart, colIndex, values }
}

/** One document's L2-normalized TF-IDF values into `out` (its length), in float32 as tfidfMatrix stores them. */
function tfidfRow(doc: SparseFeatures, idf: Float32Array, out: Float32Array): void {
  let norm = 0
  for (let k = 0; k < doc.ids.length; k++) {
    const v = doc.values[k] * idf[doc.ids[k]]
    out[k] = v
    norm += v * v
  }
  norm = Math.sqrt(norm) || 1
  for (let k = 0; k < doc.ids.length; k++) out[k] /= norm
}

/**
 * A sparse matrix given by its rows: some of them as one CSR matrix, or each in
 * turn. The SVD factors a sample of a large matrix's rows and folds the rest in
 * one at a time, so a corpus's whole TF-IDF matrix is never held (1M synthetic
 * documents: 270M entries, 2.2 GB).
 */
export interface RowMatrix {
  rows: number
  cols: number
  nonZeros: number
  /** The given rows (ascending), or all of them, as one CSR matrix. */
  take(rows: readonly number[] | 'all'): CsrMatrix
  /** Calls `visit` with every row's column indices and values, in order (its arrays may be reused for the next row: copy to keep). */
  forEachRow(visit: (row: number, cols: Int32Array, values: Float32Array) => void): void
}

/** The L2-normalized TF-IDF rows of the documents' features, made when asked for. */
export function tfidfRows(docs: SparseFeatures[], idf: Float32Array): RowMatrix {
  return {
    rows: docs.length,
    cols: idf.length,
    nonZeros: docs.reduce((n, doc) => n + doc.ids.length, 0),
    take: (rows) => tfidfMatrix(rows === 'all' ? docs : rows.map((r) => docs[r]), idf),
    forEachRow(visit) {
      let values = new Float32Array(0)
      docs.forEach((doc, i) => {
        if (values.length < doc.ids.length) values = new Float32Array(doc.ids.length)
        const row = values.subarray(0, doc.ids.length)
        tfidfRow(doc, idf, row)
        visit(i, doc.ids, row)
      })
    },
  }
}

export interface TruncatedSvd {
  /** rows × k, the documents' coordinates U·Σ. */
  rowVectors: Float32Array
  /** cols × k, right singular vectors V. */
  colVectors: Float32Array
  singularValues: Float64Array
  k: number
}

/** A dense row-major matrix. */
interface Dense {
  rows: number
  cols: number
  data: Float64Array
}

/**
 * Rank-k randomized SVD of X (Halko, Martinsson & Tropp 2011) with power iterations and
 * Cholesky-QR. A matrix with more than `maxNonZeros` entries is factored on a random
 * sample of its rows (enough of them to span the same topics), and every row is then
 * folded in: rowVectors = X·V, with σ_c = |X·V_c|, exactly as a query is.
 */
export function randomizedSvd(X: RowMatrix, k: number, rng: Rng, onStep?: (done: number, total: number) => void, options: { oversample?: number; powerIterations?: number; maxNonZeros?: number } = {}): TruncatedSvd {
  const { oversample = 10, powerIterations = 2, maxNonZeros = Infinity } = options
  const nnz = X.nonZeros
  const whole = nnz <= maxNonZeros
  const sampled = X.take(whole ? 'all' : sampleRows(X.rows, Math.max(k + oversample, Math.floor((X.rows * maxNonZeros) / nnz)), rng))
  // Work on the columns that occur: a small corpus touches a fraction of the hash buckets.
  const { compact, columns } = compactColumns(sampled)
  const svd = randomizedSvdDense(compact, k, rng, oversample, powerIterations, onStep ?? (() => {}))
  const colVectors = new Float32Array(X.cols * k)
  columns.forEach((col, c) => colVectors.set(svd.colVectors.subarray(c * k, (c + 1) * k), col * k))
  if (whole) return { ...svd, colVectors }
  const rowVectors = new Float32Array(X.rows * k)
  const singularValues = new Float64Array(k)
  X.forEachRow((i, cols, values) => {
    for (let p = 0; p < cols.length; p++) {
      const v = values[p]
      const col = cols[p] * k
      for (let c = 0; c < k; c++) rowVectors[i * k + c] += v * colVectors[col + c]
    }
    for (let c = 0; c < k; c++) singularValues[c] += rowVectors[i * k + c] ** 2
  })
  for (let c = 0; c < k; c++) singularValues[c] = Math.sqrt(singularValues[c])
  return { rowVectors, colVectors, singularValues, k }
}

/** `count` distinct rows of `rows`, chosen uniformly, in ascending order. */
function sampleRows(rows: number, count: number, rng: Rng): number[] {
  const picked = new Uint8Array(rows)
  // Floyd's algorithm: exactly `count` distinct rows.
  for (let j = rows - count; j < rows; j++) {
    const t = Math.floor(rng() * (j + 1))
    if (picked[t]) picked[j] = 1
    else picked[t] = 1
  }
  const chosen: number[] = []
  for (let i = 0; i < rows; i++) if (picked[i]) chosen.push(i)
  return chosen
}

function compactColumns(X: CsrMatrix): { compact: CsrMatrix; columns: Int32Array } {
  const indexOf = new Int32Array(X.cols).fill(-1)
  for (const col of X.colIndex) indexOf[col] = 0
  const columns: number[] = []
  for (let col = 0; col < X.cols; col++) if (indexOf[col] === 0) indexOf[col] = columns.push(col) - 1
  const colIndex = X.colIndex.map((col) => indexOf[col])
  return { compact: { ...X, cols: columns.length, colIndex }, columns: Int32Array.from(columns) }
}

function randomizedSvdDense(X: CsrMatrix, k: number, rng: Rng, oversample: number, powerIterations: number, onStep: (done: number, total: number) => void): TruncatedSvd {
  const l = Math.min(k + oversample, X.rows, X.cols)
  const steps = 2 * powerIterations + 3
  let step = 0
  const progress = () => onStep(++step, steps)
  const omega: Dense = { rows: X.cols, cols: l, data: Float64Array.from({ length: X.cols * l }, () => gaussian(rng)) }
  let Q = orthonormalize(multiply(X, omega))
  progress()
  for (let it = 0; it < powerIterations; it++) {
    const Z = orthonormalize(multiplyTransposed(X, Q))
    progress()
    Q = orthonormalize(multiply(X, Z))
    progress()
  }
  // B = Qᵀ X, kept as its transpose Bt = Xᵀ Q (cols × l); BBᵀ = Btᵀ Bt is l × l.
  const Bt = multiplyTransposed(X, Q)
  progress()
  const { eigenvalues, eigenvectors } = symmetricEigen(gramian(Bt), l)
  const order = [...eigenvalues.keys()].sort((a, b) => eigenvalues[b] - eigenvalues[a])
  const rowVectors = new Float32Array(X.rows * k)
  const colVectors = new Float32Array(X.cols * k)
  const singularValues = new Float64Array(k)
  const top = Math.sqrt(Math.max(eigenvalues[order[0]] ?? 0, 0))
  // W: the kept eigenvectors as an l × k matrix, scaled for each side.
  const forRows = new Float64Array(l * k)
  const forCols = new Float64Array(l * k)
  for (let c = 0; c < Math.min(k, l); c++) {
    const e = order[c]
    const sigma = Math.sqrt(Math.max(eigenvalues[e], 0))
    singularValues[c] = sigma
    if (sigma <= 1e-7 * top) continue // rank-deficient direction: leave it zero
    for (let a = 0; a < l; a++) {
      forRows[a * k + c] = eigenvectors[a * l + e] * sigma // U·Σ = Q W Σ
      forCols[a * k + c] = eigenvectors[a * l + e] / sigma // V = Bt W / σ
    }
  }
  denseTimes(Q, forRows, k, rowVectors)
  denseTimes(Bt, forCols, k, colVectors)
  progress()
  return { rowVectors, colVectors, singularValues, k }
}

/** out = A · W for W an A.cols × k row-major matrix. */
function denseTimes(A: Dense, W: Float64Array, k: number, out: Float32Array): void {
  const row = new Float64Array(k)
  for (let i = 0; i < A.rows; i++) {
    row.fill(0)
    for (let a = 0; a < A.cols; a++) {
      const x = A.data[i * A.cols + a]
      if (x === 0) continue
      for (let c = 0; c < k; c++) row[c] += x * W[a * k + c]
    }
    for (let c = 0; c < k; c++) out[i * k + c] = row[c]
  }
}

/** X · M (X.rows × M.cols). */
function multiply(X: CsrMatrix, M: Dense): Dense {
  const l = M.cols
  const out = new Float64Array(X.rows * l)
  for (let i = 0; i < X.rows; i++) {
    const o = i * l
    for (let p = X.rowStart[i]; p < X.rowStart[i + 1]; p++) {
      const m = X.colIndex[p] * l
      const v = X.values[p]
      for (let c = 0; c < l; c++) out[o + c] += v * M.data[m + c]
    }
  }
  return { rows: X.rows, cols: l, data: out }
}

/** Xᵀ · M (X.cols × M.cols). */
function multiplyTransposed(X: CsrMatrix, M: Dense): Dense {
  const l = M.cols
  const out = new Float64Array(X.cols * l)
  for (let i = 0; i < X.rows; i++) {
    const m = i * l
    for (let p = X.rowStart[i]; p < X.rowStart[i + 1]; p++) {
      const o = X.colIndex[p] * l
      const v = X.values[p]
      for (let c = 0; c < l; c++) out[o + c] += v * M.data[m + c]
    }
  }
  return { rows: X.cols, cols: l, data: out }
}

/** AᵀA (A.cols × A.cols). */
function gramian(A: Dense): Float64Array {
  const l = A.cols
  const G = new Float64Array(l * l)
  for (let i = 0; i < A.rows; i++) {
    const r = i * l
    for (let a = 0; a < l; a++) {
      const x = A.data[r + a]
      if (x === 0) continue
      for (let b = a; b < l; b++) G[a * l + b] += x * A.data[r + b]
    }
  }
  for (let a = 0; a < l; a++) for (let b = 0; b < a; b++) G[a * l + b] = G[b * l + a]
  return G
}

/**
 * Cholesky-QR, twice (CholeskyQR2): Q = A R⁻¹ with RᵀR = AᵀA. A small ridge keeps
 * rank-deficient inputs (tiny corpora, empty documents) factorizable.
 */
function orthonormalize(A: Dense): Dense {
  for (let pass = 0; pass < 2; pass++) {
    const l = A.cols
    const G = gramian(A)
    let trace = 0
    for (let a = 0; a < l; a++) trace += G[a * l + a]
    const ridge = 1e-12 * (trace / l || 1)
    const R = cholesky(G, l, ridge)
    const row = new Float64Array(l)
    for (let i = 0; i < A.rows; i++) {
      // Solve x R = a (forward substitution over the upper-triangular R).
      const r = i * l
      for (let b = 0; b < l; b++) {
        let s = A.data[r + b]
        for (let a = 0; a < b; a++) s -= row[a] * R[a * l + b]
        row[b] = s / R[b * l + b]
      }
      A.data.set(row, r)
    }
  }
  return A
}

/** Upper-triangular R with RᵀR = G + ridge·I. */
function cholesky(G: Float64Array, n: number, ridge: number): Float64Array {
  const R = new Float64Array(n * n)
  for (let j = 0; j < n; j++) {
    let d = G[j * n + j] + ridge
    for (let k = 0; k < j; k++) d -= R[k * n + j] ** 2
    R[j * n + j] = Math.sqrt(Math.max(d, ridge))
    for (let i = j + 1; i < n; i++) {
      let s = G[j * n + i]
      for (let k = 0; k < j; k++) s -= R[k * n + j] * R[k * n + i]
      R[j * n + i] = s / R[j * n + j]
    }
  }
  return R
}

/** Cyclic Jacobi eigendecomposition of a symmetric n × n matrix (row-major). */
export function symmetricEigen(matrix: Float64Array, n: number): { eigenvalues: Float64Array; eigenvectors: Float64Array } {
  const a = Float64Array.from(matrix)
  const v = new Float64Array(n * n)
  for (let i = 0; i < n; i++) v[i * n + i] = 1
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] ** 2
    if (off < 1e-22) break
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]
        if (Math.abs(apq) < 1e-300) continue
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq)
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1))
        const c = 1 / Math.sqrt(t * t + 1)
        const s = t * c
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]
          const akq = a[k * n + q]
          a[k * n + p] = c * akp - s * akq
          a[k * n + q] = s * akp + c * akq
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]
          const aqk = a[q * n + k]
          a[p * n + k] = c * apk - s * aqk
          a[q * n + k] = s * apk + c * aqk
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]
          const vkq = v[k * n + q]
          v[k * n + p] = c * vkp - s * vkq
          v[k * n + q] = s * vkp + c * vkq
        }
      }
    }
  }
  const eigenvalues = new Float64Array(n)
  for (let i = 0; i < n; i++) eigenvalues[i] = a[i * n + i]
  return { eigenvalues, eigenvectors: v }
}
