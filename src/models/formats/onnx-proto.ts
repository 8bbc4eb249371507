/**
 * The ONNX messages seqserve writes (field numbers from onnx/onnx.proto), as small builders
 * over ProtoWriter: tensors, value infos with named dynamic axes, nodes with attributes, and
 * the model around one graph.
 */
import { ProtoWriter } from './protobuf.js'

/** TensorProto.DataType */
export const FLOAT = 1
export const INT64 = 7

export interface OnnxTensor {
  name: string
  dims: number[]
  dataType: typeof FLOAT | typeof INT64
  values: ArrayLike<number>
}

export function tensorProto(t: OnnxTensor): ProtoWriter {
  const w = new ProtoWriter()
  for (const d of t.dims) w.int(1, d)
  w.int(2, t.dataType)
  w.string(8, t.name)
  const width = t.dataType === FLOAT ? 4 : 8
  const raw = new Uint8Array(t.values.length * width)
  const view = new DataView(raw.buffer)
  for (let i = 0; i < t.values.length; i++) {
    if (t.dataType === FLOAT) view.setFloat32(i * 4, t.values[i], true)
    else view.setBigInt64(i * 8, BigInt(t.values[i]), true)
  }
  w.bytes(9, raw)
  return w
}

/** A float tensor value: dims are sizes or names of dynamic axes ("batch", "seq"). */
export function valueInfo(name: string, dims: (number | string)[]): ProtoWriter {
  const shape = new ProtoWriter()
  for (const d of dims) {
    const dim = new ProtoWriter()
    if (typeof d === 'number') dim.int(1, d)
    else dim.string(2, d)
    shape.message(1, dim)
  }
  const tensorType = new ProtoWriter().int(1, FLOAT).message(2, shape)
  const type = new ProtoWriter().message(1, tensorType)
  return new ProtoWriter().string(1, name).message(2, type)
}

export type AttributeValue = number | string | number[] | string[]

/** AttributeProto.AttributeType */
const ATTR_INT = 2
const ATTR_STRING = 3
const ATTR_INTS = 7
const ATTR_STRINGS = 8

function attribute(name: string, value: AttributeValue): ProtoWriter {
  const w = new ProtoWriter().string(1, name)
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`attribute ${name}: only integer attributes are written`)
    return w.int(3, value).int(20, ATTR_INT)
  }
  if (typeof value === 'string') return w.bytes(4, new TextEncoder().encode(value)).int(20, ATTR_STRING)
  if (value.every((v) => typeof v === 'number')) {
    for (const v of value as number[]) w.int(8, v)
    return w.int(20, ATTR_INTS)
  }
  for (const v of value as string[]) w.bytes(9, new TextEncoder().encode(v))
  return w.int(20, ATTR_STRINGS)
}

export interface OnnxNode {
  opType: string
  name: string
  inputs: string[]
  outputs: string[]
  attributes?: Record<string, AttributeValue>
}

export function nodeProto(n: OnnxNode): ProtoWriter {
  const w = new ProtoWriter()
  for (const i of n.inputs) w.string(1, i)
  for (const o of n.outputs) w.string(2, o)
  w.string(3, n.name)
  w.string(4, n.opType)
  for (const [k, v] of Object.entries(n.attributes ?? {})) w.message(5, attribute(k, v))
  return w
}

export interface OnnxGraph {
  name: string
  nodes: OnnxNode[]
  initializers: OnnxTensor[]
  inputs: ProtoWriter[]
  outputs: ProtoWriter[]
  docString?: string
}

export interface OnnxModel {
  graph: OnnxGraph
  irVersion: number
  opset: number
  producerName: string
  producerVersion: string
  metadata: Record<string, string>
}

export function modelProto(m: OnnxModel): Uint8Array {
  const g = new ProtoWriter()
  for (const n of m.graph.nodes) g.message(1, nodeProto(n))
  g.string(2, m.graph.name)
  for (const t of m.graph.initializers) g.message(5, tensorProto(t))
  if (m.graph.docString) g.string(10, m.graph.docString)
  for (const i of m.graph.inputs) g.message(11, i)
  for (const o of m.graph.outputs) g.message(12, o)
  const w = new ProtoWriter()
  w.int(1, m.irVersion)
  w.string(2, m.producerName)
  w.string(3, m.producerVersion)
  w.message(7, g)
  w.message(8, new ProtoWriter().string(1, '').int(2, m.opset))
  for (const [k, v] of Object.entries(m.metadata)) w.message(14, new ProtoWriter().string(1, k).string(2, v))
  return w.finish()
}
