/**
 * The safetensors format (Hugging Face): an 8-byte little-endian header length, a UTF-8 JSON
 * header `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__: {string: string}}`
 * padded with spaces to a multiple of 8 bytes, then the tensors' bytes back to back
 * (little-endian, row-major), offsets relative to the end of the header.
 */

export type SafetensorsDtype = 'F64' | 'F32'

export interface NamedTensor {
  name: string
  shape: number[]
  data: ArrayLike<number>
}

const BYTES: Record<SafetensorsDtype, number> = { F64: 8, F32: 4 }

/** The tensor bytes of a safetensors file (everything after the header), in the order given. */
export function encodeTensorData(tensors: readonly NamedTensor[], dtype: SafetensorsDtype = 'F64'): Uint8Array {
  const width = BYTES[dtype]
  const out = new Uint8Array(tensors.reduce((n, t) => n + t.data.length * width, 0))
  const view = new DataView(out.buffer)
  let at = 0
  for (const t of tensors) {
    for (let i = 0; i < t.data.length; i++, at += width) {
      if (dtype === 'F64') view.setFloat64(at, t.data[i], true)
      else view.setFloat32(at, t.data[i], true)
    }
  }
  return out
}

/**
 * Tensors are written in the order given (PyTorch's state_dict order), so the file is
 * deterministic. `data` is encodeTensorData's result when the caller already has it.
 */
export function encodeSafetensors(tensors: readonly NamedTensor[], metadata: Record<string, string>, dtype: SafetensorsDtype = 'F64', data = encodeTensorData(tensors, dtype)): Uint8Array {
  const width = BYTES[dtype]
  const header: Record<string, unknown> = { __metadata__: metadata }
  let offset = 0
  for (const t of tensors) {
    const end = offset + t.data.length * width
    header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, end] }
    offset = end
  }
  const json = new TextEncoder().encode(JSON.stringify(header))
  // The header is padded with spaces so the tensor data starts 8-byte aligned.
  const padded = Math.ceil(json.length / 8) * 8
  const out = new Uint8Array(8 + padded + data.length)
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true)
  out.set(json, 8)
  out.fill(0x20, 8 + json.length, 8 + padded)
  out.set(data, 8 + padded)
  return out
}

/** The file is not valid safetensors (or holds something we cannot load); the message says where. */
export class SafetensorsError extends Error {
  constructor(message: string, readonly tensor?: string) {
    super(message)
    this.name = 'SafetensorsError'
  }
}

export interface DecodedSafetensors {
  metadata: Record<string, string>
  tensors: Map<string, { dtype: string; shape: number[]; data: Float64Array }>
  /** Byte length of the header (with its 8-byte length prefix): the tensor bytes start here. */
  dataStart: number
}

const READERS: Record<string, ((v: DataView, at: number) => number) | undefined> = {
  F64: (v, at) => v.getFloat64(at, true),
  F32: (v, at) => v.getFloat32(at, true),
}
const WIDTHS: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 }

/** Parses and checks a safetensors file; F32 and F64 tensors are read as float64. */
export function decodeSafetensors(bytes: Uint8Array): DecodedSafetensors {
  if (bytes.byteLength < 8) throw new SafetensorsError(`the body has ${bytes.byteLength} bytes; a safetensors file starts with an 8-byte header length`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const length = view.getBigUint64(0, true)
  if (length > BigInt(bytes.byteLength - 8)) throw new SafetensorsError(`the header length (${length} bytes) is larger than the file; this is not a safetensors file`)
  const dataStart = 8 + Number(length)
  let header: unknown
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart)))
  } catch {
    throw new SafetensorsError('the safetensors header is not valid UTF-8 JSON')
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new SafetensorsError('the safetensors header must be a JSON object')
  const dataLength = bytes.byteLength - dataStart
  const metadata: Record<string, string> = {}
  const tensors = new Map<string, { dtype: string; shape: number[]; data: Float64Array }>()
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null) throw new SafetensorsError('__metadata__ must be an object of strings')
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v !== 'string') throw new SafetensorsError(`__metadata__.${k} must be a string`)
        metadata[k] = v
      }
      continue
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown }
    if (typeof e !== 'object' || e === null || typeof e.dtype !== 'string' || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets)) {
      throw new SafetensorsError(`tensor ${name}: expected {dtype, shape, data_offsets}`, name)
    }
    const shape = e.shape as unknown[]
    if (!shape.every((d) => Number.isInteger(d) && (d as number) >= 0)) throw new SafetensorsError(`tensor ${name}: shape must be non-negative integers`, name)
    const [begin, end] = e.data_offsets as unknown[]
    if (!Number.isInteger(begin) || !Number.isInteger(end) || (begin as number) < 0 || (end as number) < (begin as number) || (end as number) > dataLength) {
      throw new SafetensorsError(`tensor ${name}: data_offsets [${String(begin)}, ${String(end)}] are outside the ${dataLength} data bytes`, name)
    }
    const read = READERS[e.dtype]
    if (!read) {
      throw new SafetensorsError(`tensor ${name} has dtype ${e.dtype}; only F32 and F64 can be loaded (convert with tensor.double() or .float())`, name)
    }
    const count = (shape as number[]).reduce((n, d) => n * d, 1)
    const width = WIDTHS[e.dtype]
    if ((end as number) - (begin as number) !== count * width) {
      throw new SafetensorsError(`tensor ${name}: shape [${shape.join(', ')}] of ${e.dtype} needs ${count * width} bytes but data_offsets span ${(end as number) - (begin as number)}`, name)
    }
    const data = new Float64Array(count)
    const base = dataStart + (begin as number)
    for (let i = 0; i < count; i++) data[i] = read(view, base + i * width)
    tensors.set(name, { dtype: e.dtype, shape: shape as number[], data })
  }
  return { metadata, tensors, dataStart }
}
