import type { Backend, Floats } from './backend/types.js'
import { type Interrupt, inRowChunks, rowsPerPoll } from './interrupt.js'
import type { ParamSpec, Parameters } from './params.js'

/** torch.nn.Linear: y = x W^T + b, W [out x in]. */
export class Linear {
  readonly inFeatures: number
  readonly outFeatures: number
  private readonly w: Floats
  private readonly b: Floats
  private readonly gw: Floats
  private readonly gb: Floats

  static paramSpecs(prefix: string, inFeatures: number, outFeatures: number): ParamSpec[] {
    return [
      { name: `${prefix}weight`, shape: [outFeatures, inFeatures] },
      { name: `${prefix}bias`, shape: [outFeatures] },
    ]
  }

  private readonly backend: Backend

  constructor(params: Parameters, prefix: string, inFeatures: number, outFeatures: number) {
    this.backend = params.backend
    this.inFeatures = inFeatures
    this.outFeatures = outFeatures
    this.w = params.view(`${prefix}weight`)
    this.b = params.view(`${prefix}bias`)
    this.gw = params.gradView(`${prefix}weight`)
    this.gb = params.gradView(`${prefix}bias`)
  }

  /** out[rows x out] = x[rows x in] · W^T + b; `interrupt` is polled inside the product (interrupt.ts). */
  forward(out: Floats, x: Floats, rows: number, interrupt: Interrupt | null = null): void {
    const O = this.outFeatures
    this.backend.gemmNT(out, 0, O, x, 0, this.inFeatures, this.w, 0, this.inFeatures, rows, O, this.inFeatures, false, interrupt)
    this.backend.addRowBias(out, this.b, rows, O)
  }

  /** Adds dW, db into the gradient vector; writes d loss / d x into dx when given. */
  backward(dx: Floats | null, dy: Floats, x: Floats, rows: number, interrupt: Interrupt | null = null): void {
    const I = this.inFeatures
    const O = this.outFeatures
    this.backend.gemmTN(this.gw, 0, I, dy, 0, O, x, 0, I, O, I, rows, true, interrupt)
    // Column sums add row after row in order: pieces of rows give the same bits.
    inRowChunks(rows, rowsPerPoll(O), interrupt, (r, n) => this.backend.columnSums(this.gb, dy, r * O, n, O))
    if (dx) this.backend.gemmNN(dx, 0, I, dy, 0, O, this.w, 0, I, rows, I, O, false, interrupt)
  }
}
