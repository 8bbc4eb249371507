import { gemmNN, gemmNT, gemmTN } from '../kernels/gemm.js'
import { Direction, type DirectionShape } from './direction.js'
import type { Parameters } from '../params.js'

/**
 * LSTM with PyTorch's gate order i, f, g, o:
 *   c' = f*c + i*g,  m = o*tanh(c'),  h' = m  (or W_hr m with proj_size).
 */
export class LstmDirection extends Direction {
  private readonly P: number
  private readonly whr: Float64Array | null
  private readonly gwhr: Float64Array | null
  /** c for slots 0..T. [(T+1)*B x H] */
  private cSlots = new Float64Array(0)
  private tanhC = new Float64Array(0)
  /** o*tanh(c) before the projection (only with proj_size). [T*B x H] */
  private m = new Float64Array(0)
  private dc = new Float64Array(0)
  private dm = new Float64Array(0)
  /** Gradient of each step's projected h, for dW_hr. [T*B x P] */
  private dhOut = new Float64Array(0)

  constructor(params: Parameters, prefix: string, suffix: string, shape: DirectionShape) {
    super(params, prefix, suffix, shape)
    this.P = shape.projSize
    this.whr = this.P > 0 ? params.view(`${prefix}weight_hr${suffix}`) : null
    this.gwhr = this.P > 0 ? params.gradView(`${prefix}weight_hr${suffix}`) : null
  }

  protected allocate(capT: number, capB: number): void {
    const H = this.H
    this.cSlots = new Float64Array((capT + 1) * capB * H)
    this.tanhC = new Float64Array(capT * capB * H)
    this.dc = new Float64Array(capB * H)
    if (this.P > 0) {
      this.m = new Float64Array(capT * capB * H)
      this.dm = new Float64Array(capB * H)
      this.dhOut = new Float64Array(capT * capB * this.P)
    }
  }

  protected foldBias(bias: Float64Array): void {
    for (let g = 0; g < this.G; g++) bias[g] = this.bih[g] + this.bhh[g]
  }

  protected hiddenGateGrad(): Float64Array {
    return this.dG
  }

  protected loadInitialState(c0: Float64Array | null, c0Off: number): void {
    const size = this.B * this.H
    const first = (this.reverse ? this.T : 0) * size
    if (c0) this.cSlots.set(c0.subarray(c0Off, c0Off + size), first)
    else this.cSlots.fill(0, first, first + size)
  }

  protected storeFinalState(cN: Float64Array | null, cNOff: number): void {
    if (!cN) return
    const size = this.B * this.H
    const last = (this.reverse ? 0 : this.T) * size
    cN.set(this.cSlots.subarray(last, last + size), cNOff)
  }

  protected loadFinalStateGrad(dCn: Float64Array | null, dCnOff: number): void {
    const size = this.B * this.H
    if (dCn) this.dc.set(dCn.subarray(dCnOff, dCnOff + size))
    else this.dc.fill(0, 0, size)
  }

  protected storeInitialStateGrad(dC0: Float64Array | null, dC0Off: number): void {
    if (dC0) dC0.set(this.dc.subarray(0, this.B * this.H), dC0Off)
  }

  protected stepForward(t: number): void {
    this.recurrentProjection(t)
    const B = this.B
    const H = this.H
    const G = this.G
    const Hout = this.Hout
    const projected = this.P > 0
    const gates = this.gates
    const hg = this.hg
    const cs = this.cSlots
    const hs = this.hSlots
    const tc = this.tanhC
    const m = projected ? this.m : hs
    const prevC = this.prevSlot(t) * B * H
    const outC = this.outSlot(t) * B * H
    const prevH = this.prevSlot(t) * B * Hout
    const outH = this.outSlot(t) * B * Hout
    for (let b = 0; b < B; b++) {
      const cp = prevC + b * H
      const co = outC + b * H
      if (this.isPadded(t, b)) {
        for (let j = 0; j < H; j++) cs[co + j] = cs[cp + j]
        continue
      }
      const gRow = (t * B + b) * G
      const hRow = b * G
      const row = (t * B + b) * H
      const mo = projected ? row : outH + b * Hout
      for (let j = 0; j < H; j++) {
        const i = 1 / (1 + Math.exp(-(gates[gRow + j] + hg[hRow + j])))
        const f = 1 / (1 + Math.exp(-(gates[gRow + H + j] + hg[hRow + H + j])))
        const g = Math.tanh(gates[gRow + 2 * H + j] + hg[hRow + 2 * H + j])
        const o = 1 / (1 + Math.exp(-(gates[gRow + 3 * H + j] + hg[hRow + 3 * H + j])))
        gates[gRow + j] = i
        gates[gRow + H + j] = f
        gates[gRow + 2 * H + j] = g
        gates[gRow + 3 * H + j] = o
        const c = f * cs[cp + j] + i * g
        const th = Math.tanh(c)
        cs[co + j] = c
        tc[row + j] = th
        m[mo + j] = o * th
      }
    }
    if (projected) {
      gemmNT(hs, outH, Hout, this.m, t * B * H, H, this.whr!, 0, H, B, Hout, H, false)
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
      gemmNN(this.dm, 0, H, this.dh, 0, P, this.whr!, 0, H, B, H, P, false)
      dm = this.dm
    }
    const prevC = this.prevSlot(t) * B * H
    for (let b = 0; b < B; b++) {
      const gRow = (t * B + b) * G
      if (this.isPadded(t, b)) {
        dG.fill(0, gRow, gRow + G)
        continue
      }
      const row = (t * B + b) * H
      const cp = prevC + b * H
      const r = b * H
      for (let j = 0; j < H; j++) {
        const i = gates[gRow + j]
        const f = gates[gRow + H + j]
        const g = gates[gRow + 2 * H + j]
        const o = gates[gRow + 3 * H + j]
        const th = tc[row + j]
        const dmj = dm[r + j]
        const dct = dc[r + j] + dmj * o * (1 - th * th)
        dc[r + j] = dct * f
        dG[gRow + j] = dct * g * i * (1 - i)
        dG[gRow + H + j] = dct * cs[cp + j] * f * (1 - f)
        dG[gRow + 2 * H + j] = dct * i * (1 - g * g)
        dG[gRow + 3 * H + j] = dmj * th * o * (1 - o)
      }
    }
    this.recurrentGradient(t, dG)
  }

  protected accumulateExtraGrads(): void {
    if (this.P === 0) return
    const rows = this.T * this.B
    gemmTN(this.gwhr!, 0, this.H, this.dhOut, 0, this.P, this.m, 0, this.H, this.P, this.H, rows, true)
  }
}
