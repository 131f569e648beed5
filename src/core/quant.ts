// Symmetric int8 quantization with one float scale per row: x ≈ scale · q,
// |x − scale · q| ≤ scale / 2 per element, scale = max|x| / 127.

export interface QuantizedRows {
  rows: number
  dims: number
  values: Int8Array
  scales: Float32Array
}

/**
 * Per-row scales that the ONNX file stores as float16 (× HALF_SCALE_UNIT⁻¹, so small scales
 * stay normal numbers): half the bytes of float32 for the 65,536-row embedding tables.
 */
export const HALF_SCALE_UNIT = 1 / 1024

/** The float16 bit pattern nearest to `value` (round half to even). */
export function toHalfBits(value: number): number {
  const f32 = new Float32Array([value])
  const x = new Uint32Array(f32.buffer)[0]
  const sign = (x >>> 16) & 0x8000
  const exponent = ((x >>> 23) & 0xff) - 112
  let mantissa = x & 0x7fffff
  if (((x >>> 23) & 0xff) === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0)
  if (exponent >= 31) return sign | 0x7c00
  if (exponent <= 0) {
    if (exponent < -10) return sign
    mantissa |= 0x800000
    const shift = 14 - exponent
    let half = mantissa >>> shift
    const rest = mantissa & ((1 << shift) - 1)
    const halfway = 1 << (shift - 1)
    if (rest > halfway || (rest === halfway && half & 1)) half++
    return sign | half
  }
  let half = (exponent << 10) | (mantissa >>> 13)
  const rest = mantissa & 0x1fff
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++ // a carry into the exponent is still right
  return sign | half
}

export function fromHalfBits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1
  const exponent = (bits >>> 10) & 0x1f
  const mantissa = bits & 0x3ff
  if (exponent === 0) return sign * mantissa * 2 ** -24
  if (exponent === 31) return mantissa ? NaN : sign * Infinity
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15)
}

/** A row whose values its stored scale cannot hold: stored anyway, it would read back as NaN. */
export class ScaleOverflowError extends Error {
  override name = 'ScaleOverflowError'
  constructor(
    readonly row: number,
    readonly maxAbs: number,
    /** The model's matrix, once quantizeModel knows it. */
    readonly matrix?: string,
  ) {
    super(`${matrix ? `${matrix}, ` : ''}row ${row}: values up to ${maxAbs}, past what its stored scale can hold`)
  }
}

/** quantizeRows with each scale rounded to what a float16 `scale / HALF_SCALE_UNIT` holds. */
export function quantizeRowsHalfScales(data: Float32Array, rows: number, dims: number): QuantizedRows {
  return quantizeRows(data, rows, dims, (scale) => fromHalfBits(toHalfBits(scale / HALF_SCALE_UNIT)) * HALF_SCALE_UNIT)
}

export function quantizeRows(data: Float32Array, rows: number, dims: number, storedScale: (scale: number) => number = Math.fround): QuantizedRows {
  if (data.length !== rows * dims) throw new Error(`quantizeRows: ${data.length} values is not ${rows}×${dims}`)
  const values = new Int8Array(rows * dims)
  const scales = new Float32Array(rows)
  for (let r = 0; r < rows; r++) {
    const base = r * dims
    let maxAbs = 0
    for (let d = 0; d < dims; d++) maxAbs = Math.max(maxAbs, Math.abs(data[base + d]))
    // Quantize against the scale the reader will see (float32, or float16 for the tables).
    const stored = storedScale(maxAbs > 0 ? maxAbs / 127 : 1)
    // A scale its storage cannot hold (float16 past 65504 × HALF_SCALE_UNIT) would dequantize the row to NaN.
    if (!Number.isFinite(stored)) throw new ScaleOverflowError(r, maxAbs)
    scales[r] = stored
    for (let d = 0; d < dims; d++) values[base + d] = Math.max(-127, Math.min(127, Math.round(data[base + d] / stored)))
  }
  return { rows, dims, values, scales }
}

export function dequantizeRows(q: QuantizedRows): Float32Array {
  const out = new Float32Array(q.rows * q.dims)
  for (let r = 0; r < q.rows; r++) {
    const scale = q.scales[r]
    for (let d = 0; d < q.dims; d++) out[r * q.dims + d] = q.values[r * q.dims + d] * scale
  }
  return out
}

/** Quantizes a matrix per column (one scale per output unit), as ONNX DequantizeLinear(axis=1) reads it. */
export function quantizeColumns(data: Float32Array, rows: number, cols: number): QuantizedRows {
  const transposed = new Float32Array(rows * cols)
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) transposed[c * rows + r] = data[r * cols + c]
  const byColumn = quantizeRows(transposed, cols, rows)
  const values = new Int8Array(rows * cols)
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) values[r * cols + c] = byColumn.values[c * rows + r]
  return { rows, dims: cols, values, scales: byColumn.scales }
}

export function dequantizeColumns(q: QuantizedRows): Float32Array {
  const out = new Float32Array(q.rows * q.dims)
  for (let r = 0; r < q.rows; r++) for (let c = 0; c < q.dims; c++) out[r * q.dims + c] = q.values[r * q.dims + c] * q.scales[c]
  return out
}
