/**
 * What the engine computes with: a precision (the element type of every parameter, gradient and
 * workspace) and a kernel set (plain JavaScript loops or WebAssembly SIMD), bundled as a Backend
 * that also allocates the buffers, so every buffer of one engine instance lives where its kernels
 * read it (one WebAssembly memory per instance for the wasm kernels).
 */

import type { ColumnSums, GruCell, LstmCell, LstmCellBackward } from '../kernels/cells.js'
import type { GatherRows, ScatterAddRows } from '../kernels/onehot.js'

export const DTYPES = ['float32', 'float64'] as const
export type Dtype = (typeof DTYPES)[number]

export const KERNEL_SETS = ['wasm', 'js'] as const
export type KernelSetName = (typeof KERNEL_SETS)[number]

/** A vector of the engine's floats: Float32Array for float32, Float64Array for float64. */
export type Floats = Float32Array | Float64Array

/**
 * Dense matrix multiply, row-major with leading dimensions, output first (see kernels/gemm.ts):
 * NT: C = A·B^T, NN: C = A·B, TN: C = A^T·B; accumulate adds into C instead of overwriting it.
 */
export type Gemm = (c: Floats, cOff: number, ldc: number,
  a: Floats, aOff: number, lda: number,
  b: Floats, bOff: number, ldb: number,
  m: number, n: number, k: number, accumulate: boolean) => void

export interface Backend {
  readonly dtype: Dtype
  readonly kernels: KernelSetName
  /** A zeroed vector of n floats that the kernels of this backend read without copying. */
  floats(n: number): Floats
  readonly gemmNT: Gemm
  readonly gemmNN: Gemm
  readonly gemmTN: Gemm
  /** The LSTM and GRU cells' element-wise step over consecutive rows (kernels/cells.ts). */
  readonly lstmCell: LstmCell
  readonly gruCell: GruCell
  readonly lstmCellBackward: LstmCellBackward
  /** out[j] += column sums of a [rows x cols] matrix (bias gradients). */
  readonly columnSums: ColumnSums
  /** One-hot inputs: rows of a [ids x G] table gathered (plus bias) and gradients scattered back. */
  readonly gatherRows: GatherRows
  readonly scatterAddRows: ScatterAddRows
  /** out[j*ldo + i] = x[i*ldx + j] for i < rows, j < cols (packs a weight's transpose). */
  transpose(out: Floats, ldo: number, x: Floats, ldx: number, rows: number, cols: number): void
  /** Bytes this instance holds (the WebAssembly memory's size for wasm). */
  readonly bytes: number
}

export function isDtype(v: unknown): v is Dtype {
  return typeof v === 'string' && (DTYPES as readonly string[]).includes(v)
}

export function isKernelSetName(v: unknown): v is KernelSetName {
  return typeof v === 'string' && (KERNEL_SETS as readonly string[]).includes(v)
}
