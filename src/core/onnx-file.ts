// What the query model's runtime needs of an ONNX file (a ModelProto), read
// straight from protobuf's wire format: the graph's nodes (op types, inputs,
// outputs), its inputs and outputs by name, and its initializers as raw bytes.
// Field numbers are onnx.proto's; any other field is skipped.

export interface OnnxTensor {
  name: string
  /** onnx.TensorProto.DataType */
  dataType: number
  dims: number[]
  /** The tensor's raw_data (little-endian), a view into the file. */
  raw: Uint8Array
}

export interface OnnxNode {
  opType: string
  inputs: string[]
  outputs: string[]
  /** Attributes of type INT or INTS, by name. */
  ints: Record<string, number | number[]>
  /** Attributes of type FLOAT, by name. */
  floats: Record<string, number>
  /** Names of attributes of any other type (the query model's graph has none). */
  others: string[]
}

export interface OnnxGraph {
  nodes: OnnxNode[]
  inputs: string[]
  outputs: string[]
  initializers: Map<string, OnnxTensor>
}

/** onnx.TensorProto.DataType values the query model uses. */
export const ONNX_TYPE = { float: 1, int8: 3, int32: 6, int64: 7, float16: 10 } as const

export class OnnxFormatError extends Error {
  override name = 'OnnxFormatError'
}

const WIRE = { varint: 0, fixed64: 1, bytes: 2, fixed32: 5 } as const

/** One field of a message: its number, and its value (a number for varints; the bytes for length-delimited and fixed-width fields). */
type Field = { field: number; wire: number; varint: number; bytes?: undefined } | { field: number; wire: number; bytes: Uint8Array; varint?: undefined }

/** Reads protobuf varints from `bytes`, from `at` on. */
class Varints {
  at = 0
  constructor(readonly bytes: Uint8Array) {}
  get done(): boolean {
    return this.at >= this.bytes.length
  }
  next(): number {
    let value = 0
    for (let shift = 0; ; shift += 7) {
      if (this.at >= this.bytes.length) throw new OnnxFormatError('truncated varint')
      const byte = this.bytes[this.at++]
      if (shift === 63 && byte > 1) throw new OnnxFormatError('varint longer than 64 bits')
      // Past 2^53 a number loses bits; no length, dimension or type here comes near it.
      value += (byte & 0x7f) * 2 ** shift
      if (byte < 0x80) return value
    }
  }
}

function* fields(message: Uint8Array): Generator<Field> {
  const read = new Varints(message)
  while (!read.done) {
    const tag = read.next()
    const field = Math.floor(tag / 8)
    const wire = tag % 8
    if (field === 0) throw new OnnxFormatError('field number 0')
    if (wire === WIRE.varint) {
      yield { field, wire, varint: read.next() }
      continue
    }
    const length = wire === WIRE.bytes ? read.next() : wire === WIRE.fixed64 ? 8 : wire === WIRE.fixed32 ? 4 : -1
    if (length < 0) throw new OnnxFormatError(`unsupported wire type ${wire} (field ${field})`)
    if (read.at + length > message.length) throw new OnnxFormatError(`field ${field} runs past its message`)
    yield { field, wire, bytes: message.subarray(read.at, read.at + length) }
    read.at += length
  }
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)

/** A repeated int64 field, packed or not. */
function pushInts(into: number[], f: Field): void {
  if (f.varint !== undefined) return void into.push(f.varint)
  if (f.wire !== WIRE.bytes) throw new OnnxFormatError(`field ${f.field}: a fixed-width value where integers belong`)
  for (const packed = new Varints(f.bytes); !packed.done; ) into.push(packed.next())
}

function tensor(message: Uint8Array): OnnxTensor {
  const t: OnnxTensor = { name: '', dataType: 0, dims: [], raw: new Uint8Array(0) }
  let hasRaw = false
  for (const f of fields(message)) {
    if (f.field === 1) pushInts(t.dims, f)
    else if (f.field === 2 && f.varint !== undefined) t.dataType = f.varint
    else if (f.field === 8 && f.wire === WIRE.bytes) t.name = text(f.bytes!)
    else if (f.field === 9 && f.wire === WIRE.bytes) ((t.raw = f.bytes!), (hasRaw = true))
  }
  if (!hasRaw) throw new OnnxFormatError(`initializer "${t.name}" has no raw_data`)
  return t
}

function node(message: Uint8Array): OnnxNode {
  const n: OnnxNode = { opType: '', inputs: [], outputs: [], ints: {}, floats: {}, others: [] }
  for (const f of fields(message)) {
    if (f.wire !== WIRE.bytes) continue
    if (f.field === 1) n.inputs.push(text(f.bytes!))
    else if (f.field === 2) n.outputs.push(text(f.bytes!))
    else if (f.field === 4) n.opType = text(f.bytes!)
    else if (f.field === 5) attribute(f.bytes!, n)
  }
  return n
}

/** AttributeProto: name 1, f 2 (float), i 3 (int), ints 8; type 20 says which is set. */
const ATTRIBUTE_TYPE = { float: 1, int: 2, ints: 7 } as const

function attribute(message: Uint8Array, into: OnnxNode): void {
  let name = ''
  let type = 0
  let f = 0
  let i = 0
  const ints: number[] = []
  for (const field of fields(message)) {
    if (field.field === 1 && field.wire === WIRE.bytes) name = text(field.bytes!)
    else if (field.field === 2 && field.wire === WIRE.fixed32) f = new DataView(field.bytes!.buffer, field.bytes!.byteOffset, 4).getFloat32(0, true)
    else if (field.field === 3 && field.varint !== undefined) i = field.varint
    else if (field.field === 8) pushInts(ints, field)
    else if (field.field === 20 && field.varint !== undefined) type = field.varint
  }
  if (type === ATTRIBUTE_TYPE.float) into.floats[name] = f
  else if (type === ATTRIBUTE_TYPE.int) into.ints[name] = i
  else if (type === ATTRIBUTE_TYPE.ints) into.ints[name] = ints
  else into.others.push(name)
}

function valueName(message: Uint8Array): string {
  for (const f of fields(message)) if (f.field === 1 && f.wire === WIRE.bytes) return text(f.bytes!)
  return ''
}

/** The graph of an ONNX model file; throws OnnxFormatError when the bytes are not one. */
export function readOnnxGraph(file: Uint8Array): OnnxGraph {
  let graphBytes: Uint8Array | undefined
  for (const f of fields(file)) if (f.field === 7 && f.wire === WIRE.bytes) graphBytes = f.bytes
  if (!graphBytes) throw new OnnxFormatError('no graph')
  const graph: OnnxGraph = { nodes: [], inputs: [], outputs: [], initializers: new Map() }
  for (const f of fields(graphBytes)) {
    if (f.wire !== WIRE.bytes) continue
    if (f.field === 1) graph.nodes.push(node(f.bytes!))
    else if (f.field === 5) {
      const t = tensor(f.bytes!)
      if (graph.initializers.has(t.name)) throw new OnnxFormatError(`two initializers named "${t.name}"`)
      graph.initializers.set(t.name, t)
    } else if (f.field === 11) graph.inputs.push(valueName(f.bytes!))
    else if (f.field === 12) graph.outputs.push(valueName(f.bytes!))
  }
  return graph
}
