/**
 * What the engine computes with: a precision (the element type of every parameter, gradient and
 * workspace) and a kernel set (plain JavaScript loops or WebAssembly SIMD), bundled as a Backend
 * that also allocates the buffers, so every buffer of one engine instance lives where its kernels
 * read it (one WebAssembly memory per instance for the wasm kernels).
 */

import type { Interrupt } from '../interrupt.js'
import type { ColumnSums, GruCell, GruCellBackward, GruHiddenGrad, LstmCell, LstmCellBackward } from '../kernels/cells.js'
import type { GatherColumns, GatherRows, ScatterAddRows } from '../kernels/onehot.js'
import type { AddRowBias, AddVectors } from '../kernels/vector.js'

export const DTYPES = ['float32', 'float64'] as const
export type Dtype = (typeof DTYPES)[number]

export const KERNEL_SETS = ['wasm', 'js'] as const
export type KernelSetName = (typeof KERNEL_SETS)[number]

/** A vector of the engine's floats: Float32Array for float32, Float64Array for float64. */
export type Floats = Float32Array | Float64Array

/**
 * Dense matrix multiply, row-major with leading dimensions, output first (see kernels/gemm.ts):
 * NT: C = A·B^T, NN: C = A·B, TN: C = A^T·B; accumulate adds into C instead of overwriting it.
 * With `interrupt`, a long product polls it between pieces of rows (same bits as one call) and
 * throws StepInterruptedError, C then partly written, when it asks to stop.
 */
export type Gemm = (c: Floats, cOff: number, ldc: number,
  a: Floats, aOff: number, lda: number,
  b: Floats, bOff: number, ldb: number,
  m: number, n: number, k: number, accumulate: boolean, interrupt?: Interrupt | null) => void

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
  readonly gruCellBackward: GruCellBackward
  readonly gruHiddenGrad: GruHiddenGrad
  /** out[j] += column sums of a [rows x cols] matrix (bias gradients). */
  readonly columnSums: ColumnSums
  /** One-hot inputs: rows of a [ids x G] table gathered (plus bias) and gradients scattered back. */
  readonly gatherRows: GatherRows
  readonly scatterAddRows: ScatterAddRows
  /** One-hot inputs of a few rows: columns of W_ih [G x I] read in place (plus bias). */
  readonly gatherColumns: GatherColumns
  /** out = a + b element-wise; every row += bias. */
  readonly addVectors: AddVectors
  readonly addRowBias: AddRowBias
  /** out[j*ldo + i] = x[i*ldx + j] for i < rows, j < cols (packs a weight's transpose). */
  transpose(out: Floats, ldo: number, x: Floats, ldx: number, rows: number, cols: number): void
  /**
   * Mean softmax cross-entropy and its gradient, as losses.ts crossEntropy (its conventions and
   * errors; it polls `interrupt`, except the float32 WebAssembly kernel, one fast call).
   */
  crossEntropy(grad: Floats | null, logits: Floats, targets: Int32Array, rows: number, classes: number, interrupt?: Interrupt | null): number
  /**
   * One Adam/AdamW update of whole vectors in place with the same bits as the JavaScript loop of
   * optimizers/adam.ts; false (nothing done) when this backend has no such kernel or an operand
   * does not live in its memory, and the caller runs the loop.
   */
  adamStep(p: Floats, g: Floats, m: Floats, v: Floats, vmax: Floats | null, c: AdamCoefficients): boolean
  /** Bytes this instance holds (the WebAssembly memory's size for wasm). */
  readonly bytes: number
}

/** The per-step scalars of an Adam update (see optimizers/adam.ts and kernels/wasm/assembly/adam.ts). */
export interface AdamCoefficients {
  stepSize: number
  biasCorrection2Sqrt: number
  beta2: number
  eps: number
  /** lerp weight 1 - beta1 of the first moment. */
  weight: number
  /** AdamW's 1 - lr·wd; exactly 1 for Adam. */
  decay: number
  /** -1 to maximize, else 1. */
  sign: number
  /** Adam's L2 penalty (0 for AdamW). */
  l2: number
}

export function isDtype(v: unknown): v is Dtype {
  return typeof v === 'string' && (DTYPES as readonly string[]).includes(v)
}

export function isKernelSetName(v: unknown): v is KernelSetName {
  return typeof v === 'string' && (KERNEL_SETS as readonly string[]).includes(v)
}
