import type { Floats } from '../backend/types.js'
import { Direction, type DirectionShape, EMPTY } from './direction.js'
import type { Parameters } from '../params.js'

/** Elman RNN: h' = act(W_ih x + b_ih + W_hh h + b_hh), act = tanh or relu. */
export class RnnDirection extends Direction {
  private readonly relu: boolean

  constructor(params: Parameters, prefix: string, suffix: string, shape: DirectionShape, relu: boolean) {
    super(params, prefix, suffix, shape)
    this.relu = relu
  }

  protected allocate(): void {}

  protected foldBias(bias: Floats): void {
    this.backend.addVectors(bias, this.bih, 0, this.bhh, 0, this.G)
  }

  protected loadInitialState(): void {}
  protected loadFinalStateGrad(): void {}
  protected storeInitialStateGrad(): void {}
  protected storeFinalState(): void {}
  protected accumulateExtraGrads(): void {}

  protected hiddenGateGrad(): Floats {
    return this.dG
  }

  protected stepForward(t: number): void {
    this.recurrentProjection(t)
    const B = this.B
    const H = this.H
    const hs = this.hSlots
    const gates = this.gates
    const hg = this.hg
    const prev = this.prevSlot(t) * B * H
    const out = this.outSlot(t) * B * H
    const relu = this.relu
    for (let b = 0; b < B; b++) {
      const o = out + b * H
      if (this.isPadded(t, b)) {
        const p = prev + b * H
        for (let j = 0; j < H; j++) hs[o + j] = hs[p + j]
        continue
      }
      const gRow = (t * B + b) * H
      const hRow = b * H
      for (let j = 0; j < H; j++) {
        const pre = gates[gRow + j] + hg[hRow + j]
        hs[o + j] = relu ? (pre > 0 ? pre : 0) : Math.tanh(pre)
      }
    }
  }

  protected stepBackward(t: number): void {
    const B = this.B
    const H = this.H
    const hs = this.hSlots
    const dG = this.dG
    const dh = this.dh
    const out = this.outSlot(t) * B * H
    const relu = this.relu
    for (let b = 0; b < B; b++) {
      const gRow = (t * B + b) * H
      if (this.isPadded(t, b)) {
        dG.fill(0, gRow, gRow + H)
        continue
      }
      const o = out + b * H
      const hRow = b * H
      for (let j = 0; j < H; j++) {
        const h = hs[o + j]
        dG[gRow + j] = relu ? (h > 0 ? dh[hRow + j] : 0) : dh[hRow + j] * (1 - h * h)
      }
    }
    this.recurrentGradient(t, dG)
  }
}
