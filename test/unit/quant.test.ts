import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { dequantizeColumns, dequantizeRows, quantizeColumns, quantizeRows } from '../../src/core/quant.ts'

const matrix = fc.record({ rows: fc.integer({ min: 1, max: 8 }), cols: fc.integer({ min: 1, max: 8 }) }).chain(({ rows, cols }) =>
  fc.float32Array({ minLength: rows * cols, maxLength: rows * cols, noNaN: true, noDefaultInfinity: true, min: -1e4, max: 1e4 }).map((data) => ({ rows, cols, data })),
)

describe('int8 quantization', () => {
  it('per row: every value within half a step of its row scale', () => {
    fc.assert(
      fc.property(matrix, ({ rows, cols, data }) => {
        const q = quantizeRows(data, rows, cols)
        const back = dequantizeRows(q)
        for (let r = 0; r < rows; r++) {
          for (let c = 0; c < cols; c++) {
            expect(Math.abs(back[r * cols + c] - data[r * cols + c])).toBeLessThanOrEqual(q.scales[r] / 2 + 1e-6 * Math.abs(data[r * cols + c]) + 1e-30)
          }
        }
      }),
    )
  })

  it('per column: every value within half a step of its column scale', () => {
    fc.assert(
      fc.property(matrix, ({ rows, cols, data }) => {
        const q = quantizeColumns(data, rows, cols)
        const back = dequantizeColumns(q)
        for (let r = 0; r < rows; r++) {
          for (let c = 0; c < cols; c++) {
            expect(Math.abs(back[r * cols + c] - data[r * cols + c])).toBeLessThanOrEqual(q.scales[c] / 2 + 1e-6 * Math.abs(data[r * cols + c]) + 1e-30)
          }
        }
      }),
    )
  })

  it('keeps the largest magnitude of a row exactly representable and zero rows zero', () => {
    const q = quantizeRows(new Float32Array([0, 0, 0, -2, 1, 0.5]), 2, 3)
    expect(Array.from(q.values.slice(0, 3))).toEqual([0, 0, 0])
    expect(q.values[3]).toBe(-127)
    expect(dequantizeRows(q)[3]).toBeCloseTo(-2, 6)
  })
})
