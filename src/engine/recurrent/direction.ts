import { gemmNN, gemmNT, gemmTN } from '../kernels/gemm.js'
import type { Parameters } from '../params.js'

/** Input of one layer, time-major: dense rows [T*B x I] or one-hot ids [T*B] (id < 0 = all zeros). */
export type LayerInput = { kind: 'dense'; data: Float64Array } | { kind: 'ids'; ids: Int32Array }

export interface DirectionShape {
  inputSize: number
  hiddenSize: number
  /** Size of h (proj_size when projecting, else hidden_size). */
  outSize: number
  projSize: number
  gates: number
  reverse: boolean
}

/**
 * One direction of one layer: owns its weight views, its forward activations (kept for
 * backpropagation through time) and its backward scratch. Everything is time-major and
 * indexed by time t; hidden states live in T+1 slots so that, for either direction, the
 * states preceding steps 0..T-1 form one contiguous block (slots 0..T-1 forward,
 * 1..T reverse) and the weight gradients are single matrix multiplies over all steps.
 */
export abstract class Direction {
  readonly I: number
  readonly H: number
  readonly Hout: number
  readonly G: number
  readonly reverse: boolean

  protected readonly wih: Float64Array
  protected readonly whh: Float64Array
  protected readonly bih: Float64Array
  protected readonly bhh: Float64Array
  protected readonly gwih: Float64Array
  protected readonly gwhh: Float64Array
  protected readonly gbih: Float64Array
  protected readonly gbhh: Float64Array

  protected T = 0
  protected B = 0
  protected lengths: Int32Array | null = null
  protected input: LayerInput | null = null
  protected capT = 0
  protected capB = 0

  /** Gate pre-activations from the input, then (in place) the gate activations. [T*B x G] */
  protected gates = new Float64Array(0)
  /** h for slots 0..T. [(T+1)*B x Hout] */
  protected hSlots = new Float64Array(0)
  /** h_{t-1} · W_hh^T for the current step. [B x G] */
  protected hg = new Float64Array(0)
  /** Gradient w.r.t. the gate pre-activations, input side. [T*B x G] */
  protected dG = new Float64Array(0)
  protected dh = new Float64Array(0)
  protected dhPrev = new Float64Array(0)
  private readonly bias: Float64Array
  private wihT = new Float64Array(0)

  constructor(params: Parameters, prefix: string, suffix: string, shape: DirectionShape) {
    this.I = shape.inputSize
    this.H = shape.hiddenSize
    this.Hout = shape.outSize
    this.G = shape.gates * shape.hiddenSize
    this.reverse = shape.reverse
    this.wih = params.view(`${prefix}weight_ih${suffix}`)
    this.whh = params.view(`${prefix}weight_hh${suffix}`)
    this.bih = params.view(`${prefix}bias_ih${suffix}`)
    this.bhh = params.view(`${prefix}bias_hh${suffix}`)
    this.gwih = params.gradView(`${prefix}weight_ih${suffix}`)
    this.gwhh = params.gradView(`${prefix}weight_hh${suffix}`)
    this.gbih = params.gradView(`${prefix}bias_ih${suffix}`)
    this.gbhh = params.gradView(`${prefix}bias_hh${suffix}`)
    this.bias = new Float64Array(this.G)
  }

  /** Slot holding h before step t. */
  protected prevSlot(t: number): number {
    return this.reverse ? t + 1 : t
  }

  /** Slot receiving h after step t. */
  protected outSlot(t: number): number {
    return this.reverse ? t : t + 1
  }

  protected isPadded(t: number, b: number): boolean {
    return this.lengths !== null && t >= this.lengths[b]
  }

  /** (Re)allocates buffers only when a batch is larger than any seen before. */
  protected ensureCapacity(T: number, B: number): void {
    if (T <= this.capT && B <= this.capB) return
    const capT = Math.max(T, this.capT)
    const capB = Math.max(B, this.capB)
    this.capT = capT
    this.capB = capB
    this.gates = new Float64Array(capT * capB * this.G)
    this.hSlots = new Float64Array((capT + 1) * capB * this.Hout)
    this.hg = new Float64Array(capB * this.G)
    this.dG = new Float64Array(capT * capB * this.G)
    this.dh = new Float64Array(capB * this.Hout)
    this.dhPrev = new Float64Array(capB * this.Hout)
    this.allocate(capT, capB)
  }

  /** Mode-specific buffers. */
  protected abstract allocate(capT: number, capB: number): void
  /** Gate biases folded into the input projection (GRU keeps b_hn out). */
  protected abstract foldBias(bias: Float64Array): void
  protected abstract loadInitialState(c0: Float64Array | null, c0Off: number): void
  protected abstract stepForward(t: number): void
  /** Consumes this.dh (grad of h after step t); leaves grad of h before step t in this.dhPrev. */
  protected abstract stepBackward(t: number): void
  protected abstract loadFinalStateGrad(dCn: Float64Array | null, dCnOff: number): void
  protected abstract storeInitialStateGrad(dC0: Float64Array | null, dC0Off: number): void
  protected abstract storeFinalState(cN: Float64Array | null, cNOff: number): void
  /** Mode-specific weight gradients after the backward sweep (e.g. the projection). */
  protected abstract accumulateExtraGrads(): void
  /** Gradient w.r.t. the hidden-side pre-activations [T*B x G] (equal to dG except for GRU). */
  protected abstract hiddenGateGrad(): Float64Array

  /**
   * Runs the direction over the whole sequence and writes h_t into columns
   * [outCol, outCol + Hout) of `out` (rows t*B + b, `outWidth` wide); padded steps write 0.
   */
  forward(
    input: LayerInput, T: number, B: number, lengths: Int32Array | null,
    h0: Float64Array | null, h0Off: number, c0: Float64Array | null, c0Off: number,
    out: Float64Array, outCol: number, outWidth: number,
  ): void {
    this.ensureCapacity(T, B)
    this.T = T
    this.B = B
    this.lengths = lengths
    this.input = input
    this.projectInput(input, T * B)

    const Hout = this.Hout
    const hs = this.hSlots
    const first = this.reverse ? T : 0
    if (h0) hs.set(h0.subarray(h0Off, h0Off + B * Hout), first * B * Hout)
    else hs.fill(0, first * B * Hout, (first + 1) * B * Hout)
    this.loadInitialState(c0, c0Off)

    for (let s = 0; s < T; s++) {
      const t = this.reverse ? T - 1 - s : s
      this.stepForward(t)
      const slot = this.outSlot(t) * B * Hout
      for (let b = 0; b < B; b++) {
        const o = (t * B + b) * outWidth + outCol
        if (this.isPadded(t, b)) {
          out.fill(0, o, o + Hout)
        } else {
          const src = slot + b * Hout
          for (let j = 0; j < Hout; j++) out[o + j] = hs[src + j]
        }
      }
    }
  }

  /** Final h (and c) of this direction into [B x Hout] at the given offsets. */
  finalState(hN: Float64Array | null, hNOff: number, cN: Float64Array | null, cNOff: number): void {
    const size = this.B * this.Hout
    const last = (this.reverse ? 0 : this.T) * size
    if (hN) hN.set(this.hSlots.subarray(last, last + size), hNOff)
    this.storeFinalState(cN, cNOff)
  }

  private projectInput(input: LayerInput, rows: number): void {
    const G = this.G
    const gates = this.gates
    const bias = this.bias
    this.foldBias(bias)
    if (input.kind === 'dense') {
      gemmNT(gates, 0, G, input.data, 0, this.I, this.wih, 0, this.I, rows, G, this.I, false)
      for (let r = 0; r < rows; r++) {
        const o = r * G
        for (let g = 0; g < G; g++) gates[o + g] += bias[g]
      }
    } else {
      // A one-hot row selects one column of W_ih. Few rows (generation) read the columns in
      // place; many rows first transpose W_ih so every gather is contiguous.
      const I = this.I
      const w = this.wih
      const ids = input.ids
      const transpose = rows > I
      if (transpose) {
        if (this.wihT.length !== I * G) this.wihT = new Float64Array(I * G)
        const wT = this.wihT
        for (let g = 0; g < G; g++) for (let i = 0; i < I; i++) wT[i * G + g] = w[g * I + i]
      }
      const wT = this.wihT
      for (let r = 0; r < rows; r++) {
        const id = ids[r]
        const o = r * G
        if (id < 0) {
          for (let g = 0; g < G; g++) gates[o + g] = bias[g]
        } else if (transpose) {
          const src = id * G
          for (let g = 0; g < G; g++) gates[o + g] = wT[src + g] + bias[g]
        } else {
          for (let g = 0; g < G; g++) gates[o + g] = w[g * I + id] + bias[g]
        }
      }
    }
  }

  /** gates-step helper: hg = h_prev · W_hh^T for all B rows. */
  protected recurrentProjection(t: number): void {
    gemmNT(this.hg, 0, this.G, this.hSlots, this.prevSlot(t) * this.B * this.Hout, this.Hout,
      this.whh, 0, this.Hout, this.B, this.G, this.Hout, false)
  }

  /** dhPrev = dGh[t] · W_hh, then padded rows pass their gradient through unchanged. */
  protected recurrentGradient(t: number, dGh: Float64Array): void {
    const B = this.B
    const Hout = this.Hout
    gemmNN(this.dhPrev, 0, Hout, dGh, t * B * this.G, this.G, this.whh, 0, Hout, B, Hout, this.G, false)
    if (this.lengths) {
      for (let b = 0; b < B; b++) {
        if (t >= this.lengths[b]) {
          const o = b * Hout
          for (let j = 0; j < Hout; j++) this.dhPrev[o + j] = this.dh[o + j]
        }
      }
    }
  }

  /**
   * Backpropagation through time. Adds parameter gradients into the gradient vector,
   * adds d loss / d input into `dInput` (when given) and writes d loss / d h0 (and c0).
   */
  backward(
    dOut: Float64Array | null, outCol: number, outWidth: number,
    dHn: Float64Array | null, dHnOff: number, dCn: Float64Array | null, dCnOff: number,
    dInput: Float64Array | null,
    dH0: Float64Array | null, dH0Off: number, dC0: Float64Array | null, dC0Off: number,
  ): void {
    const T = this.T
    const B = this.B
    const Hout = this.Hout
    const G = this.G
    if (dHn) this.dh.set(dHn.subarray(dHnOff, dHnOff + B * Hout))
    else this.dh.fill(0, 0, B * Hout)
    this.loadFinalStateGrad(dCn, dCnOff)

    for (let s = 0; s < T; s++) {
      const t = this.reverse ? s : T - 1 - s
      if (dOut) {
        const dh = this.dh
        for (let b = 0; b < B; b++) {
          if (this.isPadded(t, b)) continue
          const src = (t * B + b) * outWidth + outCol
          const o = b * Hout
          for (let j = 0; j < Hout; j++) dh[o + j] += dOut[src + j]
        }
      }
      this.stepBackward(t)
      const swap = this.dh
      this.dh = this.dhPrev
      this.dhPrev = swap
    }
    if (dH0) dH0.set(this.dh.subarray(0, B * Hout), dH0Off)
    this.storeInitialStateGrad(dC0, dC0Off)

    const rows = T * B
    const dG = this.dG
    const dGh = this.hiddenGateGrad()
    // Weight gradients over all steps at once: dW_hh += dGh^T · H_prev.
    const prevStart = (this.reverse ? 1 : 0) * B * Hout
    gemmTN(this.gwhh, 0, Hout, dGh, 0, G, this.hSlots, prevStart, Hout, G, Hout, rows, true)
    columnSums(this.gbih, dG, rows, G)
    columnSums(this.gbhh, dGh, rows, G)
    const input = this.input!
    const I = this.I
    if (input.kind === 'dense') {
      gemmTN(this.gwih, 0, I, dG, 0, G, input.data, 0, I, G, I, rows, true)
      if (dInput) gemmNN(dInput, 0, I, dG, 0, G, this.wih, 0, I, rows, I, G, true)
    } else {
      const gw = this.gwih
      const ids = input.ids
      for (let r = 0; r < rows; r++) {
        const id = ids[r]
        if (id < 0) continue
        const o = r * G
        for (let g = 0; g < G; g++) gw[g * I + id] += dG[o + g]
      }
    }
    this.accumulateExtraGrads()
  }
}

/** out[j] += sum over rows of m[r*cols + j] */
export function columnSums(out: Float64Array, m: Float64Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols
    for (let j = 0; j < cols; j++) out[j] += m[o + j]
  }
}
