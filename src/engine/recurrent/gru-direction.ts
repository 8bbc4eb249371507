import type { Floats } from '../backend/types.js'
import { Direction, type DirectionShape, EMPTY } from './direction.js'
import type { Parameters } from '../params.js'

/**
 * GRU with PyTorch's gate order r, z, n:
 *   r = σ(W_ir x + b_ir + W_hr h + b_hr),  z = σ(W_iz x + b_iz + W_hz h + b_hz),
 *   n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),  h' = (1 - z) * n + z * h.
 * b_hn stays inside the reset product, so it is not folded into the input projection.
 */
export class GruDirection extends Direction {
  /** W_hn h + b_hn per step, needed for the gradient of r. [T*B x H] */
  private hn = EMPTY
  /** Hidden-side gate gradients: differ from dG in the n block (scaled by r). [T*B x G] */
  private dGh = EMPTY

  constructor(params: Parameters, prefix: string, suffix: string, shape: DirectionShape) {
    super(params, prefix, suffix, shape)
  }

  protected allocate(capT: number, capB: number): void {
    this.hn = this.backend.floats(capT * capB * this.H)
    this.dGh = this.backend.floats(capT * capB * this.G)
  }

  protected foldBias(bias: Floats): void {
    const H = this.H
    this.backend.addVectors(bias, this.bih, 0, this.bhh, 0, 2 * H)
    bias.set(this.bih.subarray(2 * H, 3 * H), 2 * H)
  }

  protected hiddenGateGrad(): Floats {
    return this.dGh
  }

  protected loadInitialState(): void {}
  protected loadFinalStateGrad(): void {}
  protected storeInitialStateGrad(): void {}
  protected storeFinalState(): void {}
  protected accumulateExtraGrads(): void {}

  protected stepForward(t: number): void {
    this.recurrentProjection(t)
    const B = this.B
    const H = this.H
    const G = this.G
    const hs = this.hSlots
    const prev = this.prevSlot(t) * B * H
    const out = this.outSlot(t) * B * H
    const cell = this.backend.gruCell
    if (!this.lengths) {
      cell(B, H, this.gates, t * B * G, this.hg, 0, this.bhh, 2 * H, hs, prev, hs, out, this.hn, t * B * H)
      return
    }
    for (let b = 0; b < B; b++) {
      const p = prev + b * H
      const o = out + b * H
      if (this.isPadded(t, b)) {
        for (let j = 0; j < H; j++) hs[o + j] = hs[p + j]
        continue
      }
      cell(1, H, this.gates, (t * B + b) * G, this.hg, b * G, this.bhh, 2 * H, hs, p, hs, o, this.hn, (t * B + b) * H)
    }
  }

  protected stepBackward(t: number): void {
    const B = this.B
    const H = this.H
    const G = this.G
    const prev = this.prevSlot(t) * B * H
    const back = this.backend.gruCellBackward
    if (!this.lengths) {
      back(B, H, this.gates, t * B * G, this.hn, t * B * H, this.hSlots, prev, this.dh, 0, this.dG, this.dGh, t * B * G)
    } else {
      for (let b = 0; b < B; b++) {
        const gRow = (t * B + b) * G
        if (this.isPadded(t, b)) {
          this.dG.fill(0, gRow, gRow + G)
          this.dGh.fill(0, gRow, gRow + G)
          continue
        }
        back(1, H, this.gates, gRow, this.hn, (t * B + b) * H, this.hSlots, prev + b * H, this.dh, b * H, this.dG, this.dGh, gRow)
      }
    }
    this.recurrentGradient(t, this.dGh)
    // h' depends on h directly through z * h.
    const hidden = this.backend.gruHiddenGrad
    if (!this.lengths) {
      hidden(B, H, this.dhPrev, this.dh, 0, this.gates, t * B * G)
    } else {
      for (let b = 0; b < B; b++) if (!this.isPadded(t, b)) hidden(1, H, this.dhPrev, this.dh, b * H, this.gates, (t * B + b) * G)
    }
  }
}
