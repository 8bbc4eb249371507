import type { Floats } from '../backend/types.js'
import type { Interrupt } from '../interrupt.js'
import { Direction, type DirectionShape, EMPTY } from './direction.js'
import type { Parameters } from '../params.js'

/**
 * LSTM with PyTorch's gate order i, f, g, o:
 *   c' = f*c + i*g,  m = o*tanh(c'),  h' = m  (or W_hr m with proj_size).
 */
export class LstmDirection extends Direction {
  private readonly P: number
  private readonly whr: Floats | null
  private readonly gwhr: Floats | null
  /** c for slots 0..T. [(T+1)*B x H] */
  private cSlots = EMPTY
  private tanhC = EMPTY
  /** o*tanh(c) before the projection (only with proj_size). [T*B x H] */
  private m = EMPTY
  private dc = EMPTY
  private dm = EMPTY
  /** Gradient of each step's projected h, for dW_hr. [T*B x P] */
  private dhOut = EMPTY
  /** W_hr^T [H x P], packed once per backward pass. */
  private whrT = EMPTY

  constructor(params: Parameters, prefix: string, suffix: string, shape: DirectionShape) {
    super(params, prefix, suffix, shape)
    this.P = shape.projSize
    this.whr = this.P > 0 ? params.view(`${prefix}weight_hr${suffix}`) : null
    this.gwhr = this.P > 0 ? params.gradView(`${prefix}weight_hr${suffix}`) : null
  }

  protected allocate(capT: number, capB: number): void {
    const H = this.H
    this.cSlots = this.backend.floats((capT + 1) * capB * H)
    this.tanhC = this.backend.floats(capT * capB * H)
    this.dc = this.backend.floats(capB * H)
    if (this.P > 0) {
      this.m = this.backend.floats(capT * capB * H)
      this.dm = this.backend.floats(capB * H)
      this.dhOut = this.backend.floats(capT * capB * this.P)
    }
  }

  protected foldBias(bias: Floats): void {
    this.backend.addVectors(bias, this.bih, 0, this.bhh, 0, this.G)
  }

  protected hiddenGateGrad(): Floats {
    return this.dG
  }

  protected loadInitialState(c0: Floats | null, c0Off: number): void {
    const size = this.B * this.H
    const first = (this.reverse ? this.T : 0) * size
    if (c0) this.cSlots.set(c0.subarray(c0Off, c0Off + size), first)
    else this.cSlots.fill(0, first, first + size)
  }

  protected storeFinalState(cN: Floats | null, cNOff: number): void {
    if (!cN) return
    const size = this.B * this.H
    const last = (this.reverse ? 0 : this.T) * size
    cN.set(this.cSlots.subarray(last, last + size), cNOff)
  }

  protected loadFinalStateGrad(dCn: Floats | null, dCnOff: number): void {
    const size = this.B * this.H
    if (dCn) this.dc.set(dCn.subarray(dCnOff, dCnOff + size))
    else this.dc.fill(0, 0, size)
  }

  protected storeInitialStateGrad(dC0: Floats | null, dC0Off: number): void {
    if (dC0) dC0.set(this.dc.subarray(0, this.B * this.H), dC0Off)
  }

  protected stepForward(t: number): void {
    this.recurrentProjection(t)
    const B = this.B
    const H = this.H
    const G = this.G
    const Hout = this.Hout
    const projected = this.P > 0
    const cs = this.cSlots
    const hs = this.hSlots
    const m = projected ? this.m : hs
    const prevC = this.prevSlot(t) * B * H
    const outC = this.outSlot(t) * B * H
    const prevH = this.prevSlot(t) * B * Hout
    const outH = this.outSlot(t) * B * Hout
    const mOff = projected ? t * B * H : outH
    const cell = this.backend.lstmCell
    if (!this.lengths) {
      cell(B, H, this.gates, t * B * G, this.hg, 0, cs, prevC, cs, outC, this.tanhC, t * B * H, m, mOff)
    } else {
      for (let b = 0; b < B; b++) {
        const cp = prevC + b * H
        const co = outC + b * H
        if (this.isPadded(t, b)) {
          for (let j = 0; j < H; j++) cs[co + j] = cs[cp + j]
          continue
        }
        cell(1, H, this.gates, (t * B + b) * G, this.hg, b * G, cs, cp, cs, co, this.tanhC, (t * B + b) * H, m, mOff + b * H)
      }
    }
    if (projected) {
      this.backend.gemmNT(hs, outH, Hout, this.m, t * B * H, H, this.whr!, 0, H, B, Hout, H, false)
    }
    for (let b = 0; b < B; b++) {
      if (!this.isPadded(t, b)) continue
      const o = outH + b * Hout
      const p = prevH + b * Hout
      for (let j = 0; j < Hout; j++) hs[o + j] = hs[p + j]
    }
  }

  protected stepBackward(t: number): void {
    const B = this.B
    const H = this.H
    const G = this.G
    const P = this.P
    const gates = this.gates
    const dG = this.dG
    const cs = this.cSlots
    const tc = this.tanhC
    const dc = this.dc
    let dm = this.dh
    if (P > 0) {
      // Keep each step's dh for dW_hr, then dm = dh · W_hr.
      const dhOut = this.dhOut
      for (let b = 0; b < B; b++) {
        const o = (t * B + b) * P
        if (this.isPadded(t, b)) dhOut.fill(0, o, o + P)
        else for (let j = 0; j < P; j++) dhOut[o + j] = this.dh[b * P + j]
      }
      this.backend.gemmNT(this.dm, 0, H, this.dh, 0, P, this.whrT, 0, P, B, H, P, false)
      dm = this.dm
    }
    const prevC = this.prevSlot(t) * B * H
    const back = this.backend.lstmCellBackward
    if (!this.lengths) {
      back(B, H, gates, t * B * G, tc, t * B * H, dm, 0, dc, 0, cs, prevC, dG, t * B * G)
    } else {
      for (let b = 0; b < B; b++) {
        const gRow = (t * B + b) * G
        if (this.isPadded(t, b)) {
          dG.fill(0, gRow, gRow + G)
          continue
        }
        back(1, H, gates, gRow, tc, (t * B + b) * H, dm, b * H, dc, b * H, cs, prevC + b * H, dG, gRow)
      }
    }
    this.recurrentGradient(t, dG)
  }

  protected override packStepWeights(): void {
    if (this.P === 0) return
    if (this.whrT.length !== this.P * this.H) this.whrT = this.backend.floats(this.P * this.H)
    this.backend.transpose(this.whrT, this.P, this.whr!, this.H, this.P, this.H)
  }

  protected accumulateExtraGrads(interrupt: Interrupt | null): void {
    if (this.P === 0) return
    const rows = this.T * this.B
    this.backend.gemmTN(this.gwhr!, 0, this.H, this.dhOut, 0, this.P, this.m, 0, this.H, this.P, this.H, rows, true, interrupt)
  }
}
