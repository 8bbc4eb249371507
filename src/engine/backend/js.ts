import { columnSums, gruCell, gruCellBackward, gruHiddenGrad, lstmCell, lstmCellBackward } from '../kernels/cells.js'
import { gemmNN, gemmNT, gemmTN } from '../kernels/gemm.js'
import { gatherColumns, gatherRows, scatterAddRows } from '../kernels/onehot.js'
import { addRowBias, addVectors } from '../kernels/vector.js'
import { crossEntropy } from '../losses.js'
import type { Backend, Dtype, Floats } from './types.js'

/** The plain-JavaScript kernels on ordinary typed arrays: the fallback and the cross-check. */
export class JsBackend implements Backend {
  readonly kernels = 'js' as const
  readonly gemmNT = gemmNT
  readonly gemmNN = gemmNN
  readonly gemmTN = gemmTN
  readonly lstmCell = lstmCell
  readonly gruCell = gruCell
  readonly lstmCellBackward = lstmCellBackward
  readonly gruCellBackward = gruCellBackward
  readonly gruHiddenGrad = gruHiddenGrad
  readonly crossEntropy = crossEntropy
  readonly columnSums = columnSums
  readonly gatherRows = gatherRows
  readonly scatterAddRows = scatterAddRows
  readonly gatherColumns = gatherColumns
  readonly addVectors = addVectors
  readonly addRowBias = addRowBias
  private allocated = 0

  constructor(readonly dtype: Dtype) {}

  floats(n: number): Floats {
    this.allocated += n * (this.dtype === 'float32' ? 4 : 8)
    return this.dtype === 'float32' ? new Float32Array(n) : new Float64Array(n)
  }

  transpose(out: Floats, ldo: number, x: Floats, ldx: number, rows: number, cols: number): void {
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * ldo + i] = x[i * ldx + j]
  }

  /** The optimizer runs its own loop. */
  adamStep(): boolean {
    return false
  }

  get bytes(): number {
    return this.allocated
  }
}
