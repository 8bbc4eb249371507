import { type ColumnSums, type GruCell, type LstmCell, type LstmCellBackward, columnSums, gruCell, lstmCell, lstmCellBackward } from '../kernels/cells.js'
import { type GatherRows, type ScatterAddRows, gatherRows, scatterAddRows } from '../kernels/onehot.js'
import { KERNELS_WASM_BASE64 } from '../kernels/wasm/kernels-binary.js'
import type { Backend, Dtype, Floats, Gemm } from './types.js'

/** WebAssembly pages are 64 KiB; a memory stops at 65536 of them (4 GiB). */
const PAGE = 65536
export const WASM_MAX_PAGES = 65536
export const WASM_MAX_BYTES = WASM_MAX_PAGES * PAGE

type GemmExport = (c: number, ldc: number, a: number, lda: number, b: number, ldb: number,
  m: number, n: number, k: number, acc: number) => void

type TransposeExport = (out: number, ldo: number, x: number, ldx: number, rows: number, cols: number) => void

type CellExport = (rows: number, H: number, p0: number, p1: number, p2: number, p3: number, p4: number, p5: number) => void

interface KernelExports {
  gemmNT_f64: GemmExport; gemmNT_f32: GemmExport
  transpose_f64: TransposeExport; transpose_f32: TransposeExport
  lstmCellF32: CellExport; gruCellF32: CellExport; lstmCellBackwardF32: CellExport
  columnSums_f64: (out: number, m: number, rows: number, cols: number) => void
  columnSums_f32: (out: number, m: number, rows: number, cols: number) => void
  gatherRows_f64: GatherExport; gatherRows_f32: GatherExport
  scatterAddRows_f64: ScatterExport; scatterAddRows_f32: ScatterExport
}

type GatherExport = (out: number, table: number, bias: number, ids: number, rows: number, G: number) => void
type ScatterExport = (table: number, g: number, ids: number, rows: number, G: number) => void

/** Staging slots: copies of foreign operands (c, a, b), then the packed transposes of NN / TN. */
const enum Slot { C, A, B, PackA, PackB }

let compiled: WebAssembly.Module | null = null

/** The kernels module, compiled once per thread (throws where WebAssembly SIMD is missing). */
function kernelsModule(): WebAssembly.Module {
  return (compiled ??= new WebAssembly.Module(Buffer.from(KERNELS_WASM_BASE64, 'base64')))
}

let simd: boolean | null = null

/** True when this runtime compiles the kernels (WebAssembly with 128-bit SIMD and shared memory). */
export function wasmKernelsAvailable(): boolean {
  if (simd === null) {
    try {
      kernelsModule()
      new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true })
      simd = true
    } catch {
      simd = false
    }
  }
  return simd
}

/** The request needs more than one WebAssembly memory can hold (4 GiB). */
export class WasmMemoryLimitError extends RangeError {
  constructor(bytes: number) {
    super(`the model needs ${Math.ceil(bytes / 2 ** 20)} MiB of working memory, more than the 4096 MiB a WebAssembly memory can hold; use the js kernels or a smaller model or batch`)
    this.name = 'WasmMemoryLimitError'
  }
}

/**
 * One WebAssembly memory per engine instance holding its parameters, gradients and workspaces,
 * handed out by a bump allocator (16-byte aligned for v128 loads). The memory is shared: growing
 * a shared memory never detaches the views handed out before, so layers keep their typed arrays
 * and the kernels receive their byte offsets — nothing is copied between JS and WebAssembly.
 * Buffers are never freed: an instance lives as long as its model, and inference replaces an
 * instance that grew unusually large (see Predictor).
 */
export class WasmBackend implements Backend {
  readonly kernels = 'wasm' as const
  readonly memory: WebAssembly.Memory
  readonly gemmNT: Gemm
  readonly gemmNN: Gemm
  readonly gemmTN: Gemm
  /** float32: SIMD cells (polynomial exp); float64: the JavaScript cells (Math.exp, the reference). */
  readonly lstmCell: LstmCell
  readonly gruCell: GruCell
  readonly lstmCellBackward: LstmCellBackward
  readonly columnSums: ColumnSums
  readonly gatherRows: GatherRows
  readonly scatterAddRows: ScatterAddRows
  /** The batch's ids copied into this memory for the one-hot kernels. */
  private ids: Int32Array<ArrayBufferLike> = new Int32Array(0)
  private readonly size: 4 | 8
  private top = 16
  /** Every ArrayBuffer object this memory has exposed (a new one after each growth). */
  private readonly own = new Set<ArrayBufferLike>()
  private staging: Floats[] = []

  constructor(readonly dtype: Dtype) {
    this.size = dtype === 'float32' ? 4 : 8
    this.memory = new WebAssembly.Memory({ initial: 1, maximum: WASM_MAX_PAGES, shared: true })
    const exports = new WebAssembly.Instance(kernelsModule(), { env: { memory: this.memory } }).exports as unknown as KernelExports
    this.own.add(this.memory.buffer)
    const f32 = dtype === 'float32'
    const nt = f32 ? exports.gemmNT_f32 : exports.gemmNT_f64
    this.transposeKernel = f32 ? exports.transpose_f32 : exports.transpose_f64
    this.gemmNT = this.wrap(nt)
    if (f32) {
      const lstm = exports.lstmCellF32
      const gru = exports.gruCellF32
      // The cells read and write every operand in place, so all must live in this memory (the
      // engine's own buffers always do); anything else takes the JavaScript cell instead.
      this.lstmCell = (rows, H, gates, gOff, hg, hgOff, cPrev, cPrevOff, cOut, cOutOff, tanhC, tcOff, m, mOff) => {
        if (rows <= 0) return
        if (this.owns(gates) && this.owns(hg) && this.owns(cPrev) && this.owns(cOut) && this.owns(tanhC) && this.owns(m)) {
          lstm(rows, H, this.at(gates, gOff), this.at(hg, hgOff), this.at(cPrev, cPrevOff), this.at(cOut, cOutOff), this.at(tanhC, tcOff), this.at(m, mOff))
        } else {
          lstmCell(rows, H, gates, gOff, hg, hgOff, cPrev, cPrevOff, cOut, cOutOff, tanhC, tcOff, m, mOff)
        }
      }
      this.gruCell = (rows, H, gates, gOff, hg, hgOff, bhn, bhnOff, hPrev, hPrevOff, hOut, hOutOff, hn, hnOff) => {
        if (rows <= 0) return
        if (this.owns(gates) && this.owns(hg) && this.owns(bhn) && this.owns(hPrev) && this.owns(hOut) && this.owns(hn)) {
          gru(rows, H, this.at(gates, gOff), this.at(hg, hgOff), this.at(bhn, bhnOff), this.at(hPrev, hPrevOff), this.at(hOut, hOutOff), this.at(hn, hnOff))
        } else {
          gruCell(rows, H, gates, gOff, hg, hgOff, bhn, bhnOff, hPrev, hPrevOff, hOut, hOutOff, hn, hnOff)
        }
      }
      const lstmBack = exports.lstmCellBackwardF32
      this.lstmCellBackward = (rows, H, gates, gOff, tanhC, tcOff, dm, dmOff, dc, dcOff, cPrev, cpOff, dG, dGOff) => {
        if (rows <= 0) return
        if (this.owns(gates) && this.owns(tanhC) && this.owns(dm) && this.owns(dc) && this.owns(cPrev) && this.owns(dG)) {
          lstmBack(rows, H, this.at(gates, gOff), this.at(tanhC, tcOff), this.at(dm, dmOff), this.at(dc, dcOff), this.at(cPrev, cpOff), this.at(dG, dGOff))
        } else {
          lstmCellBackward(rows, H, gates, gOff, tanhC, tcOff, dm, dmOff, dc, dcOff, cPrev, cpOff, dG, dGOff)
        }
      }
    } else {
      this.lstmCell = lstmCell
      this.gruCell = gruCell
      this.lstmCellBackward = lstmCellBackward
    }
    const gather = f32 ? exports.gatherRows_f32 : exports.gatherRows_f64
    const scatter = f32 ? exports.scatterAddRows_f32 : exports.scatterAddRows_f64
    this.gatherRows = (out, table, bias, ids, rows, G) => {
      if (rows <= 0) return
      if (this.owns(out) && this.owns(table) && this.owns(bias)) gather(this.at(out, 0), this.at(table, 0), this.at(bias, 0), this.idsIn(ids, rows), rows, G)
      else gatherRows(out, table, bias, ids, rows, G)
    }
    this.scatterAddRows = (table, g, ids, rows, G) => {
      if (rows <= 0) return
      if (this.owns(table) && this.owns(g)) scatter(this.at(table, 0), this.at(g, 0), this.idsIn(ids, rows), rows, G)
      else scatterAddRows(table, g, ids, rows, G)
    }
    const sums = f32 ? exports.columnSums_f32 : exports.columnSums_f64
    this.columnSums = (out, m, mOff, rows, cols) => {
      if (rows <= 0 || cols <= 0) return
      if (this.owns(out) && this.owns(m)) sums(this.at(out, 0), this.at(m, mOff), rows, cols)
      else columnSums(out, m, mOff, rows, cols)
    }
    // NN and TN run as NT on packed transposes: the NT kernel's dot products along contiguous
    // rows measured 3-4x faster than broadcasting along B's strided rows (scripts/bench-gemm.ts).
    // The engine packs weights that stay fixed across a pass itself (Backend.transpose), so the
    // per-call packing here is for the weight gradients (one call per pass).
    this.gemmNN = (c, cOff, ldc, a, aOff, lda, b, bOff, ldb, m, n, k, accumulate) => {
      if (m <= 0 || n <= 0) return
      const bT = this.scratch(Slot.PackB, n * k)
      this.transposeAt(bT, k, b, bOff, ldb, k, n)
      this.gemmNT(c, cOff, ldc, a, aOff, lda, bT, 0, k, m, n, k, accumulate)
    }
    this.gemmTN = (c, cOff, ldc, a, aOff, lda, b, bOff, ldb, m, n, k, accumulate) => {
      if (m <= 0 || n <= 0) return
      const aT = this.scratch(Slot.PackA, m * k)
      const bT = this.scratch(Slot.PackB, n * k)
      this.transposeAt(aT, k, a, aOff, lda, k, m)
      this.transposeAt(bT, k, b, bOff, ldb, k, n)
      this.gemmNT(c, cOff, ldc, aT, 0, k, bT, 0, k, m, n, k, accumulate)
    }
  }

  private readonly transposeKernel: TransposeExport

  transpose(out: Floats, ldo: number, x: Floats, ldx: number, rows: number, cols: number): void {
    this.transposeAt(out, ldo, x, 0, ldx, rows, cols)
  }

  private transposeAt(out: Floats, ldo: number, x: Floats, xOff: number, ldx: number, rows: number, cols: number): void {
    if (rows <= 0 || cols <= 0) return
    const oo = this.owns(out) ? out : this.stage(Slot.C, out)
    const xx = this.owns(x) ? x : this.stage(Slot.A, x)
    this.transposeKernel(oo.byteOffset, ldo, xx.byteOffset + xOff * this.size, ldx, rows, cols)
    if (oo !== out) out.set(oo.subarray(0, out.length))
  }

  get bytes(): number {
    return this.memory.buffer.byteLength
  }

  floats(n: number): Floats {
    const start = this.top
    const end = start + Math.ceil((n * this.size) / 16) * 16
    if (end > this.memory.buffer.byteLength) {
      if (end > WASM_MAX_BYTES) throw new WasmMemoryLimitError(end)
      const have = this.memory.buffer.byteLength / PAGE
      // Grow by at least half again, so many small allocations do not grow page by page.
      const want = Math.min(WASM_MAX_PAGES, Math.max(Math.ceil(end / PAGE), Math.ceil(have * 1.5)))
      this.memory.grow(want - have)
      this.own.add(this.memory.buffer)
    }
    this.top = end
    const buffer = this.memory.buffer
    // Every buffer object a view was made from is recognised, whatever the runtime does with
    // the memory's buffer object (one seen during the HTTP fuzz test was not the first one).
    this.own.add(buffer)
    return this.size === 4 ? new Float32Array(buffer, start, n) : new Float64Array(buffer, start, n)
  }

  /** True when `x` is a view of this instance's memory of this instance's element type. */
  owns(x: Floats): boolean {
    return x.BYTES_PER_ELEMENT === this.size && (this.own.has(x.buffer) || x.buffer === this.memory.buffer)
  }

  /** Byte address of a copy of ids[0..rows) in this memory (a batch's ids are the caller's). */
  private idsIn(ids: Int32Array, rows: number): number {
    if (this.ids.length < rows) {
      const f = this.floats(Math.ceil((Math.max(rows, 2 * this.ids.length) * 4) / this.size))
      this.ids = new Int32Array(f.buffer, f.byteOffset, (f.length * this.size) / 4)
    }
    this.ids.set(ids.subarray(0, rows))
    return this.ids.byteOffset
  }

  private at(x: Floats, off: number): number {
    return x.byteOffset + off * this.size
  }

  private wrap(kernel: GemmExport): Gemm {
    const S = this.size
    return (c, cOff, ldc, a, aOff, lda, b, bOff, ldb, m, n, k, accumulate) => {
      if (m <= 0 || n <= 0) return
      const cc = this.owns(c) ? c : this.stage(Slot.C, c)
      const aa = this.owns(a) ? a : this.stage(Slot.A, a)
      const bb = this.owns(b) ? b : this.stage(Slot.B, b)
      kernel(cc.byteOffset + cOff * S, ldc, aa.byteOffset + aOff * S, lda, bb.byteOffset + bOff * S, ldb, m, n, k, accumulate ? 1 : 0)
      if (cc !== c) c.set(cc.subarray(0, c.length))
    }
  }

  /**
   * A copy of a vector that lives outside this memory (a caller's input, a test's array) in a
   * staging slot; the engine's own buffers never take this path.
   */
  private stage(slot: Slot, x: Floats): Floats {
    const s = this.scratch(slot, x.length)
    s.set(x)
    return s
  }

  /** A scratch vector of at least n floats in this memory, reused per slot (grown by doubling). */
  private scratch(slot: Slot, n: number): Floats {
    const s = this.staging[slot]
    if (s && s.length >= n) return s
    return (this.staging[slot] = this.floats(Math.max(n, 2 * (s?.length ?? 0))))
  }
}
