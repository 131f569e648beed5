import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { dequantizeColumns, dequantizeRows, fromHalfBits, HALF_SCALE_UNIT, quantizeColumns, quantizeRows, quantizeRowsHalfScales, ScaleOverflowError, toHalfBits } from '../../src/core/quant.ts'

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

describe('float16 scales', () => {
  it('converts to and from float16 bit patterns, rounding to nearest even', () => {
    expect(toHalfBits(1)).toBe(0x3c00)
    expect(toHalfBits(-2)).toBe(0xc000)
    expect(toHalfBits(65504)).toBe(0x7bff)
    expect(toHalfBits(1e6)).toBe(0x7c00) // overflow: infinity
    expect(toHalfBits(2 ** -24)).toBe(0x0001) // smallest subnormal
    expect(toHalfBits(0.1)).toBe(0x2e66)
    expect(toHalfBits(1 + 2 ** -11)).toBe(0x3c00) // a tie rounds to even
    expect(toHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02)
    expect(fromHalfBits(0x2e66)).toBeCloseTo(0.0999755859375, 12)
    for (let bits = 0; bits < 0x7c00; bits += 37) expect(toHalfBits(fromHalfBits(bits))).toBe(bits)
  })

  it('per-row scales rounded to float16 units: exact in the file, values quantized against them', () => {
    const rows = 50
    const dims = 8
    const data = Float32Array.from({ length: rows * dims }, (_, i) => Math.sin(i * 1.7) * 10 ** ((i % 7) - 4))
    const q = quantizeRowsHalfScales(data, rows, dims)
    for (let r = 0; r < rows; r++) {
      const units = q.scales[r] / HALF_SCALE_UNIT
      expect(fromHalfBits(toHalfBits(units))).toBe(units)
      let maxAbs = 0
      for (let d = 0; d < dims; d++) maxAbs = Math.max(maxAbs, Math.abs(data[r * dims + d]))
      expect(Math.abs(q.scales[r] - maxAbs / 127)).toBeLessThanOrEqual((maxAbs / 127) * 2 ** -10 + 2 ** -24 * HALF_SCALE_UNIT)
      for (let d = 0; d < dims; d++) expect(Math.abs(q.values[r * dims + d] * q.scales[r] - data[r * dims + d])).toBeLessThanOrEqual(q.scales[r] * 0.5 + maxAbs * 2 ** -10)
    }
  })

  it('refuses a row whose scale float16 cannot hold, instead of a row that reads back as NaN', () => {
    // The largest half is 65504 units: a row's max |x| / 127 past it (plus half a unit step) overflows.
    const largest = fromHalfBits(0x7bff) * HALF_SCALE_UNIT * 127
    expect(() => quantizeRowsHalfScales(Float32Array.of(largest, 1), 1, 2)).not.toThrow()
    const fine = quantizeRowsHalfScales(Float32Array.of(largest, 1), 1, 2)
    expect(Array.from(dequantizeRows(fine)).every(Number.isFinite)).toBe(true)
    expect(() => quantizeRowsHalfScales(Float32Array.of(largest * 1.01, 1), 1, 2)).toThrow(ScaleOverflowError)
  })
})
