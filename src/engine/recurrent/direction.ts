import type { Backend, Floats } from '../backend/types.js'
import { type Interrupt, inRowChunks, pollInterrupt, rowsPerPoll } from '../interrupt.js'
import type { Parameters } from '../params.js'

/** Placeholder for buffers not allocated yet (replaced on the first batch). */
export const EMPTY: Floats = new Float64Array(0)

/** Input of one layer, time-major: dense rows [T*B x I] or one-hot ids [T*B] (id < 0 = all zeros). */
export type LayerInput = { kind: 'dense'; data: Floats } | { kind: 'ids'; ids: Int32Array }

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
  protected readonly backend: Backend

  protected readonly wih: Floats
  protected readonly whh: Floats
  protected readonly bih: Floats
  protected readonly bhh: Floats
  protected readonly gwih: Floats
  protected readonly gwhh: Floats
  protected readonly gbih: Floats
  protected readonly gbhh: Floats

  protected T = 0
  protected B = 0
  protected lengths: Int32Array | null = null
  protected input: LayerInput | null = null
  protected capT = 0
  protected capB = 0

  /** Gate pre-activations from the input, then (in place) the gate activations. [T*B x G] */
  protected gates = EMPTY
  /** h for slots 0..T. [(T+1)*B x Hout] */
  protected hSlots = EMPTY
  /** h_{t-1} · W_hh^T for the current step. [B x G] */
  protected hg = EMPTY
  /** Gradient w.r.t. the gate pre-activations, input side. [T*B x G] */
  protected dG = EMPTY
  protected dh = EMPTY
  protected dhPrev = EMPTY
  private readonly bias: Floats
  private wihT = EMPTY
  /** W_hh^T [Hout x G], packed once per backward pass so every step's dh product runs as NT. */
  private whhT = EMPTY
  /** d loss / d W_ih accumulated transposed ([I x G], contiguous per id) for one-hot inputs. */
  private gwihT = EMPTY
  /** gwihT transposed back to W_ih's layout, added into the gradient in one pass. */
  private gwihScratch = EMPTY

  constructor(params: Parameters, prefix: string, suffix: string, shape: DirectionShape) {
    this.backend = params.backend
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
    this.bias = this.backend.floats(this.G)
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
    this.gates = this.backend.floats(capT * capB * this.G)
    this.hSlots = this.backend.floats((capT + 1) * capB * this.Hout)
    this.hg = this.backend.floats(capB * this.G)
    this.dG = this.backend.floats(capT * capB * this.G)
    this.dh = this.backend.floats(capB * this.Hout)
    this.dhPrev = this.backend.floats(capB * this.Hout)
    this.allocate(capT, capB)
  }

  /** Mode-specific buffers. */
  protected abstract allocate(capT: number, capB: number): void
  /** Gate biases folded into the input projection (GRU keeps b_hn out). */
  protected abstract foldBias(bias: Floats): void
  protected abstract loadInitialState(c0: Floats | null, c0Off: number): void
  protected abstract stepForward(t: number): void
  /** Consumes this.dh (grad of h after step t); leaves grad of h before step t in this.dhPrev. */
  protected abstract stepBackward(t: number): void
  protected abstract loadFinalStateGrad(dCn: Floats | null, dCnOff: number): void
  protected abstract storeInitialStateGrad(dC0: Floats | null, dC0Off: number): void
  protected abstract storeFinalState(cN: Floats | null, cNOff: number): void
  /** Packs mode-specific weights used by every backward step (the LSTM projection). */
  protected packStepWeights(): void {}
  /** Mode-specific weight gradients after the backward sweep (e.g. the projection). */
  protected abstract accumulateExtraGrads(interrupt: Interrupt | null): void
  /** Gradient w.r.t. the hidden-side pre-activations [T*B x G] (equal to dG except for GRU). */
  protected abstract hiddenGateGrad(): Floats

  /**
   * Runs the direction over the whole sequence and writes h_t into columns
   * [outCol, outCol + Hout) of `out` (rows t*B + b, `outWidth` wide); padded steps write 0.
   * `interrupt` is polled before every time step (and inside the input projection).
   */
  forward(
    input: LayerInput, T: number, B: number, lengths: Int32Array | null,
    h0: Floats | null, h0Off: number, c0: Floats | null, c0Off: number,
    out: Floats, outCol: number, outWidth: number, interrupt: Interrupt | null = null,
  ): void {
    this.ensureCapacity(T, B)
    this.T = T
    this.B = B
    this.lengths = lengths
    this.input = input
    this.projectInput(input, T * B, interrupt)

    const Hout = this.Hout
    const hs = this.hSlots
    const first = this.reverse ? T : 0
    if (h0) hs.set(h0.subarray(h0Off, h0Off + B * Hout), first * B * Hout)
    else hs.fill(0, first * B * Hout, (first + 1) * B * Hout)
    this.loadInitialState(c0, c0Off)

    // One direction alone fills whole rows of `out`: each step's rows are one contiguous block.
    const whole = outCol === 0 && outWidth === Hout && !lengths
    for (let s = 0; s < T; s++) {
      pollInterrupt(interrupt)
      const t = this.reverse ? T - 1 - s : s
      this.stepForward(t)
      const slot = this.outSlot(t) * B * Hout
      if (whole) {
        out.set(hs.subarray(slot, slot + B * Hout), t * B * Hout)
        continue
      }
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
  finalState(hN: Floats | null, hNOff: number, cN: Floats | null, cNOff: number): void {
    const size = this.B * this.Hout
    const last = (this.reverse ? 0 : this.T) * size
    if (hN) hN.set(this.hSlots.subarray(last, last + size), hNOff)
    this.storeFinalState(cN, cNOff)
  }

  private projectInput(input: LayerInput, rows: number, interrupt: Interrupt | null): void {
    const G = this.G
    const gates = this.gates
    const bias = this.bias
    this.foldBias(bias)
    if (input.kind === 'dense') {
      this.backend.gemmNT(gates, 0, G, input.data, 0, this.I, this.wih, 0, this.I, rows, G, this.I, false, interrupt)
      this.backend.addRowBias(gates, bias, rows, G)
    } else if (rows > this.I) {
      // A one-hot row selects one column of W_ih: many rows first transpose W_ih so every
      // gather is a contiguous row; few rows (generation) read the columns in place.
      const I = this.I
      if (this.wihT.length !== I * G) this.wihT = this.backend.floats(I * G)
      this.backend.transpose(this.wihT, G, this.wih, I, G, I)
      const ids = input.ids
      inRowChunks(rows, rowsPerPoll(G), interrupt, (r, n) => this.backend.gatherRows(r === 0 ? gates : gates.subarray(r * G), this.wihT, bias, r === 0 ? ids : ids.subarray(r), n, G))
    } else {
      this.backend.gatherColumns(gates, this.wih, bias, input.ids, rows, G, this.I)
    }
  }

  /** gates-step helper: hg = h_prev · W_hh^T for all B rows. */
  protected recurrentProjection(t: number): void {
    this.backend.gemmNT(this.hg, 0, this.G, this.hSlots, this.prevSlot(t) * this.B * this.Hout, this.Hout,
      this.whh, 0, this.Hout, this.B, this.G, this.Hout, false)
  }

  /** dhPrev = dGh[t] · W_hh, then padded rows pass their gradient through unchanged. */
  protected recurrentGradient(t: number, dGh: Floats): void {
    const B = this.B
    const Hout = this.Hout
    this.backend.gemmNT(this.dhPrev, 0, Hout, dGh, t * B * this.G, this.G, this.whhT, 0, this.G, B, Hout, this.G, false)
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
   * `interrupt` is polled before every time step and between pieces of the weight gradients.
   */
  backward(
    dOut: Floats | null, outCol: number, outWidth: number,
    dHn: Floats | null, dHnOff: number, dCn: Floats | null, dCnOff: number,
    dInput: Floats | null,
    dH0: Floats | null, dH0Off: number, dC0: Floats | null, dC0Off: number,
    interrupt: Interrupt | null = null,
  ): void {
    const T = this.T
    const B = this.B
    const Hout = this.Hout
    const G = this.G
    if (this.whhT.length !== G * Hout) this.whhT = this.backend.floats(G * Hout)
    this.backend.transpose(this.whhT, G, this.whh, Hout, G, Hout)
    this.packStepWeights()
    // One direction alone: each step's rows of dOut are one contiguous block (see forward).
    const whole = outCol === 0 && outWidth === Hout && !this.lengths
    if (dHn) this.dh.set(dHn.subarray(dHnOff, dHnOff + B * Hout))
    else this.dh.fill(0, 0, B * Hout)
    this.loadFinalStateGrad(dCn, dCnOff)

    for (let s = 0; s < T; s++) {
      pollInterrupt(interrupt)
      const t = this.reverse ? s : T - 1 - s
      if (dOut && whole) {
        this.backend.addVectors(this.dh, this.dh, 0, dOut, t * B * Hout, B * Hout)
      } else if (dOut) {
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
    pollInterrupt(interrupt)
    this.backend.gemmTN(this.gwhh, 0, Hout, dGh, 0, G, this.hSlots, prevStart, Hout, G, Hout, rows, true, interrupt)
    // Column sums and scatters add row after row in order: pieces of rows give the same bits.
    const chunk = rowsPerPoll(G)
    inRowChunks(rows, chunk, interrupt, (r, n) => this.backend.columnSums(this.gbih, dG, r * G, n, G))
    inRowChunks(rows, chunk, interrupt, (r, n) => this.backend.columnSums(this.gbhh, dGh, r * G, n, G))
    const input = this.input!
    const I = this.I
    if (input.kind === 'dense') {
      this.backend.gemmTN(this.gwih, 0, I, dG, 0, G, input.data, 0, I, G, I, rows, true, interrupt)
      if (dInput) this.backend.gemmNN(dInput, 0, I, dG, 0, G, this.wih, 0, I, rows, I, G, true, interrupt)
    } else {
      // Rows of dG add into column `id` of dW_ih: accumulate them as contiguous rows of the
      // transpose, then add that in once (the strided column writes were the slow part).
      if (this.gwihT.length !== I * G) this.gwihT = this.backend.floats(I * G)
      const gT = this.gwihT
      gT.fill(0)
      const ids = input.ids
      inRowChunks(rows, chunk, interrupt, (r, n) => this.backend.scatterAddRows(gT, r === 0 ? dG : dG.subarray(r * G), r === 0 ? ids : ids.subarray(r), n, G))
      if (this.gwihScratch.length !== I * G) this.gwihScratch = this.backend.floats(I * G)
      this.backend.transpose(this.gwihScratch, I, gT, G, I, G)
      this.backend.addVectors(this.gwih, this.gwih, 0, this.gwihScratch, 0, G * I)
    }
    this.accumulateExtraGrads(interrupt)
  }
}
