import { describe, expect, it } from 'vitest'
import { randomizedSvd, symmetricEigen, tfidfMatrix, tfidfRows, type CsrMatrix, type RowMatrix } from '../../scripts/build/lsa.ts'
import { createRng } from '../../scripts/build/random.ts'

function csr(dense: number[][]): CsrMatrix {
  const rowStart = [0]
  const colIndex: number[] = []
  const values: number[] = []
  for (const row of dense) {
    row.forEach((v, j) => v !== 0 && (colIndex.push(j), values.push(v)))
    rowStart.push(colIndex.length)
  }
  return { rows: dense.length, cols: dense[0].length, rowStart: Int32Array.from(rowStart), colIndex: Int32Array.from(colIndex), values: Float32Array.from(values) }
}

/** A held CSR matrix as the rows the SVD reads: the whole, a sample of rows, or one row at a time. */
function csrRows(X: CsrMatrix): RowMatrix {
  const row = (i: number) => ({ cols: X.colIndex.subarray(X.rowStart[i], X.rowStart[i + 1]), values: X.values.subarray(X.rowStart[i], X.rowStart[i + 1]) })
  return {
    rows: X.rows,
    cols: X.cols,
    nonZeros: X.rowStart[X.rows],
    take(rows) {
      if (rows === 'all') return X
      const rowStart = Int32Array.from([0, ...rows.map((r) => X.rowStart[r + 1] - X.rowStart[r])])
      for (let i = 1; i < rowStart.length; i++) rowStart[i] += rowStart[i - 1]
      return { rows: rows.length, cols: X.cols, rowStart, colIndex: Int32Array.from(rows.flatMap((r) => [...row(r).cols])), values: Float32Array.from(rows.flatMap((r) => [...row(r).values])) }
    },
    forEachRow(visit) {
      for (let i = 0; i < X.rows; i++) visit(i, row(i).cols, row(i).values)
    },
  }
}

describe('randomized SVD', () => {
  it('recovers the singular values and reconstructs a low-rank matrix', () => {
    const rng = createRng(4)
    // Rank 3, 30 × 12, with some all-zero columns (unused hash buckets).
    const a = Array.from({ length: 30 }, () => [rng(), rng(), rng()])
    const b = [Array.from({ length: 12 }, (_, j) => (j % 5 === 4 ? 0 : rng())), Array.from({ length: 12 }, (_, j) => (j % 5 === 4 ? 0 : rng() - 0.5)), Array.from({ length: 12 }, (_, j) => (j % 5 === 4 ? 0 : rng() * 2))]
    const dense = a.map((row) => b[0].map((_, j) => row[0] * b[0][j] + row[1] * b[1][j] + row[2] * b[2][j]))
    const svd = randomizedSvd(csrRows(csr(dense)), 3, createRng(1))
    // U·Σ·Vᵀ = X
    for (let i = 0; i < 30; i++) {
      for (let j = 0; j < 12; j++) {
        let x = 0
        for (let c = 0; c < 3; c++) x += svd.rowVectors[i * 3 + c] * svd.colVectors[j * 3 + c]
        expect(x).toBeCloseTo(dense[i][j], 3)
      }
    }
    expect(svd.singularValues[0]).toBeGreaterThanOrEqual(svd.singularValues[1])
    expect(svd.singularValues[1]).toBeGreaterThanOrEqual(svd.singularValues[2])
  })

  it('on a sample of rows (large corpora) folds every row in: same reconstruction and energy', () => {
    const rng = createRng(9)
    const a = Array.from({ length: 60 }, () => [rng(), rng(), rng()])
    const b = Array.from({ length: 3 }, () => Array.from({ length: 12 }, () => rng() - 0.3))
    const dense = a.map((row) => b[0].map((_, j) => row[0] * b[0][j] + row[1] * b[1][j] + row[2] * b[2][j]))
    const full = randomizedSvd(csrRows(csr(dense)), 3, createRng(1))
    const sampled = randomizedSvd(csrRows(csr(dense)), 3, createRng(1), undefined, { maxNonZeros: 100 }) // 720 entries: 16 of 60 rows factored
    for (let i = 0; i < 60; i++) {
      for (let j = 0; j < 12; j++) {
        let x = 0
        for (let c = 0; c < 3; c++) x += sampled.rowVectors[i * 3 + c] * sampled.colVectors[j * 3 + c]
        expect(x).toBeCloseTo(dense[i][j], 3)
      }
    }
    // The same subspace (its axes may turn within it): the same energy.
    const energy = (v: Float64Array) => v.reduce((sum, x) => sum + x * x, 0)
    expect(energy(sampled.singularValues)).toBeCloseTo(energy(full.singularValues), 3)
  })

  it('gives the same bits from TF-IDF rows made when asked for as from the whole TF-IDF matrix, sampled or not', () => {
    const rng = createRng(5)
    const docs = Array.from({ length: 80 }, () => {
      const ids = [...new Set(Array.from({ length: 3 + Math.floor(rng() * 6) }, () => Math.floor(rng() * 40)))].sort((a, b) => a - b)
      return { ids: Int32Array.from(ids), values: Float32Array.from(ids, () => Math.fround(1 + rng())) }
    })
    const idf = Float32Array.from({ length: 40 }, () => Math.fround(1 + rng() * 3))
    for (const maxNonZeros of [Infinity, 150]) {
      const a = randomizedSvd(csrRows(tfidfMatrix(docs, idf)), 4, createRng(2), undefined, { maxNonZeros })
      const b = randomizedSvd(tfidfRows(docs, idf), 4, createRng(2), undefined, { maxNonZeros })
      expect(Array.from(b.rowVectors)).toEqual(Array.from(a.rowVectors))
      expect(Array.from(b.colVectors)).toEqual(Array.from(a.colVectors))
      expect(Array.from(b.singularValues)).toEqual(Array.from(a.singularValues))
    }
  })

  it('handles more dimensions than the matrix has rank (tiny corpora)', () => {
    const svd = randomizedSvd(csrRows(csr([[1, 0, 0], [0, 2, 0]])), 8, createRng(1))
    expect(svd.rowVectors.length).toBe(2 * 8)
    expect(Array.from(svd.rowVectors).every(Number.isFinite)).toBe(true)
    expect([...svd.singularValues].slice(0, 2).map((s) => Number(s.toFixed(6)))).toEqual([2, 1])
  })
})

describe('Jacobi eigendecomposition', () => {
  it('diagonalizes a symmetric matrix', () => {
    const m = Float64Array.from([4, 1, 2, 1, 3, 0, 2, 0, 5])
    const { eigenvalues, eigenvectors } = symmetricEigen(m, 3)
    for (let e = 0; e < 3; e++) {
      for (let i = 0; i < 3; i++) {
        let mv = 0
        for (let j = 0; j < 3; j++) mv += m[i * 3 + j] * eigenvectors[j * 3 + e]
        expect(mv).toBeCloseTo(eigenvalues[e] * eigenvectors[i * 3 + e], 8)
      }
    }
  })
})
