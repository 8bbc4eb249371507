/**
 * A minimal protocol-buffers writer: just the wire types ONNX needs (varint, 32-bit float,
 * length-delimited). Repeated scalars are written unpacked, which every proto2 parser reads.
 */
const WIRE_VARINT = 0
const WIRE_LENGTH = 2
const WIRE_FIXED32 = 5

export class ProtoWriter {
  private readonly chunks: Uint8Array[] = []
  private length = 0

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes)
    this.length += bytes.length
  }

  private rawVarint(value: bigint): void {
    // Negative int64s are their 64-bit two's complement: ten bytes.
    let v = BigInt.asUintN(64, value)
    const out: number[] = []
    while (v >= 0x80n) {
      out.push(Number(v & 0x7fn) | 0x80)
      v >>= 7n
    }
    out.push(Number(v))
    this.push(Uint8Array.from(out))
  }

  private tag(field: number, wire: number): void {
    this.rawVarint(BigInt((field << 3) | wire))
  }

  /** int32, int64 and enum fields. */
  int(field: number, value: number): this {
    this.tag(field, WIRE_VARINT)
    this.rawVarint(BigInt(value))
    return this
  }

  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32)
    const b = new Uint8Array(4)
    new DataView(b.buffer).setFloat32(0, value, true)
    this.push(b)
    return this
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LENGTH)
    this.rawVarint(BigInt(value.length))
    this.push(value)
    return this
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value))
  }

  message(field: number, value: ProtoWriter): this {
    return this.bytes(field, value.finish())
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length)
    let at = 0
    for (const c of this.chunks) {
      out.set(c, at)
      at += c.length
    }
    return out
  }
}
