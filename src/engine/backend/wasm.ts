import {
  type ColumnSums, type GruCell, type GruCellBackward, type GruHiddenGrad, type LstmCell, type LstmCellBackward,
  columnSums, gruCell, gruCellBackward, gruHiddenGrad, lstmCell, lstmCellBackward,
} from '../kernels/cells.js'
import { type GatherColumns, type GatherRows, type ScatterAddRows, gatherColumns, gatherRows, scatterAddRows } from '../kernels/onehot.js'
import { type AddRowBias, type AddVectors, addRowBias, addVectors } from '../kernels/vector.js'
import { KERNELS_WASM_BASE64 } from '../kernels/wasm/kernels-binary.js'
import { type Interrupt, pollInterrupt, rowsPerPoll } from '../interrupt.js'
import { countTargets, crossEntropy } from '../losses.js'
import type { AdamCoefficients, Backend, Dtype, Floats, Gemm } from './types.js'

/** WebAssembly pages are 64 KiB; a memory stops at 65536 of them (4 GiB). */
const PAGE = 65536
export const WASM_MAX_PAGES = 65536
export const WASM_MAX_BYTES = WASM_MAX_PAGES * PAGE

type GemmExport = (c: number, ldc: number, a: number, lda: number, b: number, ldb: number,
  m: number, n: number, k: number, acc: number) => void

type TransposeExport = (out: number, ldo: number, x: number, ldx: number, rows: number, cols: number) => void

type CellExport = (rows: number, H: number, p0: number, p1: number, p2: number, p3: number, p4: number, p5: number) => void

type GatherExport = (out: number, table: number, bias: number, ids: number, rows: number, G: number) => void
type ScatterExport = (table: number, g: number, ids: number, rows: number, G: number) => void
type GatherColumnsExport = (out: number, w: number, bias: number, ids: number, rows: number, G: number, I: number) => void
type AdamExport = (p: number, g: number, m: number, v: number, vmax: number, n: number,
  stepSize: number, bc2: number, beta2: number, eps: number, w: number, decay: number, sign: number, l2: number) => void

/** The exports of the kernels module (kernels/wasm/assembly/index.ts); `_f32`/`_f64` pick the element type. */
interface KernelExports {
  gemmNT_f64: GemmExport; gemmNT_f32: GemmExport
  transpose_f64: TransposeExport; transpose_f32: TransposeExport
  lstmCellF32: CellExport; gruCellF32: CellExport
  lstmCellBackward_f64: CellExport; lstmCellBackward_f32: CellExport
  gruCellBackward_f64: CellExport; gruCellBackward_f32: CellExport
  gruHiddenGrad_f64: (rows: number, H: number, dhPrev: number, dh: number, gates: number) => void
  gruHiddenGrad_f32: (rows: number, H: number, dhPrev: number, dh: number, gates: number) => void
  columnSums_f64: (out: number, m: number, rows: number, cols: number) => void
  columnSums_f32: (out: number, m: number, rows: number, cols: number) => void
  gatherRows_f64: GatherExport; gatherRows_f32: GatherExport
  scatterAddRows_f64: ScatterExport; scatterAddRows_f32: ScatterExport
  adamStep_f64: AdamExport; adamStep_f32: AdamExport
  heapBase: () => number
  gatherColumns_f64: GatherColumnsExport; gatherColumns_f32: GatherColumnsExport
  addVectors_f64: (out: number, a: number, b: number, n: number) => void
  addVectors_f32: (out: number, a: number, b: number, n: number) => void
  addRowBias_f64: (out: number, bias: number, rows: number, cols: number) => void
  addRowBias_f32: (out: number, bias: number, rows: number, cols: number) => void
  crossEntropyF32: (grad: number, logits: number, targets: number, rows: number, classes: number, scale: number) => number
}

/**
 * Rows of A the NT kernel takes per panel (the PANEL_BYTES / B_IN_CACHE_BYTES rule of
 * kernels/wasm/assembly/gemm.ts, restated): pieces of rows stay whole panels.
 */
function panelRows(n: number, k: number, size: number): number {
  const kBytes = k * size
  if (n * kBytes <= 512 * 1024) return 4
  return Math.max(4, Math.floor((256 * 1024) / Math.max(kBytes, 1)) & ~3)
}

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
 *
 * Which vectors live here is told by their buffer object, and a memory has many: V8 (Node 20)
 * gives a shared memory a new SharedArrayBuffer object not only when it grows but also whenever
 * ANY other shared memory of the same thread grows (at its next interrupt it refreshes every
 * shared memory's buffer object, grown or not; test/engine/backend.test.ts shows it). A worker
 * serving several models, or a trainer beside a predictor, therefore sees this memory's
 * `buffer` change at moments this instance does not control. `floats()` records the buffer
 * object each view is made from, so every vector it handed out is recognised whatever happened
 * since; a vector it did not hand out (a caller's input) is copied into a staging slot.
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
  /** Both precisions in WebAssembly; float64 gives the JavaScript cells' bits. */
  readonly lstmCellBackward: LstmCellBackward
  readonly gruCellBackward: GruCellBackward
  readonly gruHiddenGrad: GruHiddenGrad
  readonly columnSums: ColumnSums
  readonly gatherRows: GatherRows
  readonly scatterAddRows: ScatterAddRows
  readonly gatherColumns: GatherColumns
  readonly addVectors: AddVectors
  readonly addRowBias: AddRowBias
  /** float32: the SIMD kernel; float64: the JavaScript reference (Math.exp). */
  readonly crossEntropy: Backend['crossEntropy']
  /** The batch's ids (or targets) copied into this memory for the kernels that read them. */
  private ids: Int32Array<ArrayBufferLike> = new Int32Array(0)
  private readonly size: 4 | 8
  /** Next free byte: above the module's static data (16-aligned). */
  private top: number
  /** Every buffer object a view handed out by floats() was made from (see the class comment). */
  private readonly own = new Set<ArrayBufferLike>()
  private staging: Floats[] = []
  private readonly adam: AdamExport

  constructor(readonly dtype: Dtype) {
    this.size = dtype === 'float32' ? 4 : 8
    this.memory = new WebAssembly.Memory({ initial: 1, maximum: WASM_MAX_PAGES, shared: true })
    const exports = new WebAssembly.Instance(kernelsModule(), { env: { memory: this.memory } }).exports as unknown as KernelExports
    this.top = Math.ceil(Math.max(16, exports.heapBase()) / 16) * 16
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
        if (this.owns6(gates, hg, cPrev, cOut, tanhC, m)) {
          lstm(rows, H, this.at(gates, gOff), this.at(hg, hgOff), this.at(cPrev, cPrevOff), this.at(cOut, cOutOff), this.at(tanhC, tcOff), this.at(m, mOff))
        } else {
          lstmCell(rows, H, gates, gOff, hg, hgOff, cPrev, cPrevOff, cOut, cOutOff, tanhC, tcOff, m, mOff)
        }
      }
      this.gruCell = (rows, H, gates, gOff, hg, hgOff, bhn, bhnOff, hPrev, hPrevOff, hOut, hOutOff, hn, hnOff) => {
        if (rows <= 0) return
        if (this.owns6(gates, hg, bhn, hPrev, hOut, hn)) {
          gru(rows, H, this.at(gates, gOff), this.at(hg, hgOff), this.at(bhn, bhnOff), this.at(hPrev, hPrevOff), this.at(hOut, hOutOff), this.at(hn, hnOff))
        } else {
          gruCell(rows, H, gates, gOff, hg, hgOff, bhn, bhnOff, hPrev, hPrevOff, hOut, hOutOff, hn, hnOff)
        }
      }
      const ce = exports.crossEntropyF32
      this.crossEntropy = (grad, logits, targets, rows, classes, interrupt = null) => {
        const counted = countTargets(grad, logits, targets, rows, classes)
        if (!this.owns(logits) || (grad !== null && !this.owns(grad))) return crossEntropy(grad, logits, targets, rows, classes, interrupt)
        const scale = counted > 0 ? 1 / counted : 0
        if (rows <= 0) return 0
        return ce(grad === null ? 0 : this.at(grad, 0), this.at(logits, 0), this.idsIn(targets, rows), rows, classes, scale) * scale
      }
    } else {
      this.lstmCell = lstmCell
      this.gruCell = gruCell
      this.crossEntropy = crossEntropy
    }
    const lstmBack = f32 ? exports.lstmCellBackward_f32 : exports.lstmCellBackward_f64
    this.lstmCellBackward = (rows, H, gates, gOff, tanhC, tcOff, dm, dmOff, dc, dcOff, cPrev, cpOff, dG, dGOff) => {
      if (rows <= 0) return
      if (this.owns6(gates, tanhC, dm, dc, cPrev, dG)) {
        lstmBack(rows, H, this.at(gates, gOff), this.at(tanhC, tcOff), this.at(dm, dmOff), this.at(dc, dcOff), this.at(cPrev, cpOff), this.at(dG, dGOff))
      } else {
        lstmCellBackward(rows, H, gates, gOff, tanhC, tcOff, dm, dmOff, dc, dcOff, cPrev, cpOff, dG, dGOff)
      }
    }
    const gruBack = f32 ? exports.gruCellBackward_f32 : exports.gruCellBackward_f64
    this.gruCellBackward = (rows, H, gates, gOff, hn, hnOff, hPrev, hpOff, dh, dhOff, dG, dGh, dOff) => {
      if (rows <= 0) return
      if (this.owns6(gates, hn, hPrev, dh, dG, dGh)) {
        gruBack(rows, H, this.at(gates, gOff), this.at(hn, hnOff), this.at(hPrev, hpOff), this.at(dh, dhOff), this.at(dG, dOff), this.at(dGh, dOff))
      } else {
        gruCellBackward(rows, H, gates, gOff, hn, hnOff, hPrev, hpOff, dh, dhOff, dG, dGh, dOff)
      }
    }
    const hidden = f32 ? exports.gruHiddenGrad_f32 : exports.gruHiddenGrad_f64
    this.gruHiddenGrad = (rows, H, dhPrev, dh, hOff, gates, gOff) => {
      if (rows <= 0) return
      if (this.owns(dhPrev) && this.owns(dh) && this.owns(gates)) hidden(rows, H, this.at(dhPrev, hOff), this.at(dh, hOff), this.at(gates, gOff))
      else gruHiddenGrad(rows, H, dhPrev, dh, hOff, gates, gOff)
    }
    this.adam = f32 ? exports.adamStep_f32 : exports.adamStep_f64
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
    const columns = f32 ? exports.gatherColumns_f32 : exports.gatherColumns_f64
    this.gatherColumns = (out, w, bias, ids, rows, G, I) => {
      if (rows <= 0) return
      if (this.owns(out) && this.owns(w) && this.owns(bias)) columns(this.at(out, 0), this.at(w, 0), this.at(bias, 0), this.idsIn(ids, rows), rows, G, I)
      else gatherColumns(out, w, bias, ids, rows, G, I)
    }
    const add = f32 ? exports.addVectors_f32 : exports.addVectors_f64
    this.addVectors = (out, a, aOff, b, bOff, n) => {
      if (n <= 0) return
      if (this.owns(out) && this.owns(a) && this.owns(b)) add(this.at(out, 0), this.at(a, aOff), this.at(b, bOff), n)
      else addVectors(out, a, aOff, b, bOff, n)
    }
    const rowBias = f32 ? exports.addRowBias_f32 : exports.addRowBias_f64
    this.addRowBias = (out, bias, rows, cols) => {
      if (rows <= 0 || cols <= 0) return
      if (this.owns(out) && this.owns(bias)) rowBias(this.at(out, 0), this.at(bias, 0), rows, cols)
      else addRowBias(out, bias, rows, cols)
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
    this.gemmNN = (c, cOff, ldc, a, aOff, lda, b, bOff, ldb, m, n, k, accumulate, interrupt = null) => {
      if (m <= 0 || n <= 0) return
      const bT = this.scratch(Slot.PackB, n * k)
      this.transposeAt(bT, k, b, bOff, ldb, k, n, interrupt)
      this.gemmNT(c, cOff, ldc, a, aOff, lda, bT, 0, k, m, n, k, accumulate, interrupt)
    }
    this.gemmTN = (c, cOff, ldc, a, aOff, lda, b, bOff, ldb, m, n, k, accumulate, interrupt = null) => {
      if (m <= 0 || n <= 0) return
      const aT = this.scratch(Slot.PackA, m * k)
      const bT = this.scratch(Slot.PackB, n * k)
      this.transposeAt(aT, k, a, aOff, lda, k, m, interrupt)
      pollInterrupt(interrupt)
      this.transposeAt(bT, k, b, bOff, ldb, k, n, interrupt)
      pollInterrupt(interrupt)
      this.gemmNT(c, cOff, ldc, aT, 0, k, bT, 0, k, m, n, k, accumulate, interrupt)
    }
  }

  adamStep(p: Floats, g: Floats, m: Floats, v: Floats, vmax: Floats | null, c: AdamCoefficients): boolean {
    if (!this.owns(p) || !this.owns(g) || !this.owns(m) || !this.owns(v) || (vmax !== null && !this.owns(vmax))) return false
    const n = p.length
    if (g.length !== n || m.length !== n || v.length !== n || (vmax !== null && vmax.length !== n)) return false
    if (n > 0) {
      this.adam(this.at(p, 0), this.at(g, 0), this.at(m, 0), this.at(v, 0), vmax === null ? 0 : this.at(vmax, 0), n,
        c.stepSize, c.biasCorrection2Sqrt, c.beta2, c.eps, c.weight, c.decay, c.sign, c.l2)
    }
    return true
  }

  private readonly transposeKernel: TransposeExport

  transpose(out: Floats, ldo: number, x: Floats, ldx: number, rows: number, cols: number): void {
    this.transposeAt(out, ldo, x, 0, ldx, rows, cols)
  }

  /** With an interrupt, in pieces of rows (a multiple of the kernel's 4-row vector strips) with a poll between them. */
  private transposeAt(out: Floats, ldo: number, x: Floats, xOff: number, ldx: number, rows: number, cols: number, interrupt: Interrupt | null = null): void {
    if (rows <= 0 || cols <= 0) return
    const oo = this.owns(out) ? out : this.stage(Slot.C, out)
    const xx = this.owns(x) ? x : this.stage(Slot.A, x)
    const S = this.size
    const chunk = interrupt === null ? rows : rowsPerPoll(cols, 4)
    for (let i0 = 0; i0 < rows; i0 += chunk) {
      if (i0 > 0) pollInterrupt(interrupt)
      this.transposeKernel(oo.byteOffset + i0 * S, ldo, xx.byteOffset + (xOff + i0 * ldx) * S, ldx, Math.min(chunk, rows - i0), cols)
    }
    if (oo !== out) out.set(oo.subarray(0, out.length))
  }

  get bytes(): number {
    return this.memory.buffer.byteLength
  }

  /** Bytes handed out so far, with the module's static data below them (what the memory must hold). */
  get used(): number {
    return this.top
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
    // Possibly a new object even without a growth here (see the class comment).
    this.own.add(buffer)
    return this.size === 4 ? new Float32Array(buffer, start, n) : new Float64Array(buffer, start, n)
  }

  /** True when `x` is a view handed out by floats() (this memory, this element type). */
  owns(x: Floats): boolean {
    return x.BYTES_PER_ELEMENT === this.size && this.own.has(x.buffer)
  }

  private owns6(a: Floats, b: Floats, c: Floats, d: Floats, e: Floats, f: Floats): boolean {
    return this.owns(a) && this.owns(b) && this.owns(c) && this.owns(d) && this.owns(e) && this.owns(f)
  }

  /** Byte address of a copy of ids[0..rows) in this memory (a batch's ids and targets are the caller's). */
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

  /**
   * With an interrupt, rows of C in pieces of about POLL_WORK multiply-adds with a poll between
   * them: the kernel sums every element in an order that depends only on k, so the pieces give
   * the bits of one call; a piece is a whole number of the kernel's row panels (see
   * kernels/wasm/assembly/gemm.ts), so B streams past them as often as in one call.
   */
  private wrap(kernel: GemmExport): Gemm {
    const S = this.size
    return (c, cOff, ldc, a, aOff, lda, b, bOff, ldb, m, n, k, accumulate, interrupt = null) => {
      if (m <= 0 || n <= 0) return
      const cc = this.owns(c) ? c : this.stage(Slot.C, c)
      const aa = this.owns(a) ? a : this.stage(Slot.A, a)
      const bb = this.owns(b) ? b : this.stage(Slot.B, b)
      const chunk = interrupt === null ? m : rowsPerPoll(n * k, panelRows(n, k, S))
      for (let i0 = 0; i0 < m; i0 += chunk) {
        if (i0 > 0) pollInterrupt(interrupt)
        kernel(cc.byteOffset + (cOff + i0 * ldc) * S, ldc, aa.byteOffset + (aOff + i0 * lda) * S, lda, bb.byteOffset + bOff * S, ldb,
          Math.min(chunk, m - i0), n, k, accumulate ? 1 : 0)
      }
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
