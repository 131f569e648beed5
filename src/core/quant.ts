// Symmetric int8 quantization with one float scale per row: x ≈ scale · q,
// |x − scale · q| ≤ scale / 2 per element, scale = max|x| / 127.

export interface QuantizedRows {
  rows: number
  dims: number
  values: Int8Array
  scales: Float32Array
}

export function quantizeRows(data: Float32Array, rows: number, dims: number): QuantizedRows {
  if (data.length !== rows * dims) throw new Error(`quantizeRows: ${data.length} values is not ${rows}×${dims}`)
  const values = new Int8Array(rows * dims)
  const scales = new Float32Array(rows)
  for (let r = 0; r < rows; r++) {
    const base = r * dims
    let maxAbs = 0
    for (let d = 0; d < dims; d++) maxAbs = Math.max(maxAbs, Math.abs(data[base + d]))
    const scale = maxAbs > 0 ? maxAbs / 127 : 1
    scales[r] = scale
    // Math.fround: the scale is stored as float32, so divide by the value the reader will see.
    const stored = Math.fround(scale)
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
