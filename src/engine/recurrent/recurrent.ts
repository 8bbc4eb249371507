import type { Backend, Floats } from '../backend/types.js'
import { type Interrupt, pollInterrupt } from '../interrupt.js'
import type { Parameters } from '../params.js'
import type { Rng } from '../rng.js'
import {
  type RecurrentConfig, directionSuffix, directions, gateCount, layerInputSize, outputHiddenSize,
  validateRecurrentConfig,
} from './config.js'
import { type Direction, EMPTY, type LayerInput } from './direction.js'
import { GruDirection } from './gru-direction.js'
import { LstmDirection } from './lstm-direction.js'
import { RnnDirection } from './rnn-direction.js'

export interface RecurrentBatch {
  T: number
  B: number
  /** Time-major input: dense rows t*B + b of width input_size, or one-hot ids. */
  input: LayerInput
  /** Real length of every sequence (steps at and after it are padding), or null when all are T long. */
  lengths: Int32Array | null
  /** [num_layers*D x B x H_out], zeros when null. */
  h0: Floats | null
  /** LSTM only: [num_layers*D x B x hidden_size], zeros when null. */
  c0: Floats | null
  training: boolean
  /** Source of dropout masks; required when training with dropout > 0. */
  rng: Rng | null
}

/**
 * A stack of recurrent layers equivalent to torch.nn.RNN / LSTM / GRU. Works time-major
 * internally ([T x B x features], row t*B + b); callers convert from batch-first.
 * Buffers are reused across calls and only grow.
 */
export class Recurrent {
  readonly config: RecurrentConfig
  readonly D: number
  readonly Hout: number
  private readonly layers: Direction[][]
  private T = 0
  private B = 0
  private training = false
  private inputKind: LayerInput['kind'] = 'dense'
  private outputs: Floats[] = []
  private dropMasks: Floats[] = []
  private dropped: Floats[] = []
  private dOutputs: Floats[] = []
  private dInputX = EMPTY
  /** Final hidden state [L*D x B x H_out] of the last forward. */
  hN = EMPTY
  /** Final cell state (LSTM) [L*D x B x H] of the last forward. */
  cN = EMPTY
  /** d loss / d h0 and d c0 of the last backward. */
  dH0 = EMPTY
  dC0 = EMPTY

  private readonly backend: Backend

  constructor(config: RecurrentConfig, params: Parameters, prefix = '') {
    validateRecurrentConfig(config)
    this.backend = params.backend
    this.config = config
    this.D = directions(config)
    this.Hout = outputHiddenSize(config)
    this.layers = []
    for (let l = 0; l < config.numLayers; l++) {
      const row: Direction[] = []
      for (let d = 0; d < this.D; d++) {
        const shape = {
          inputSize: layerInputSize(config, l),
          hiddenSize: config.hiddenSize,
          outSize: this.Hout,
          projSize: config.projSize,
          gates: gateCount(config.mode),
          reverse: d === 1,
        }
        const suffix = directionSuffix(l, d)
        switch (config.mode) {
          case 'lstm': row.push(new LstmDirection(params, prefix, suffix, shape)); break
          case 'gru': row.push(new GruDirection(params, prefix, suffix, shape)); break
          default: row.push(new RnnDirection(params, prefix, suffix, shape, config.mode === 'rnn_relu'))
        }
      }
      this.layers.push(row)
    }
  }

  get outputWidth(): number {
    return this.D * this.Hout
  }

  private ensureCapacity(T: number, B: number): void {
    const L = this.config.numLayers
    const width = this.outputWidth
    const size = T * B * width
    if (this.outputs.length === 0 || this.outputs[0].length < size) {
      // Only what is used: the gradient of every layer's output but the last (the caller's),
      // and dropout's masks and outputs between layers (dropout never applies to the input).
      const dropout = this.config.dropout > 0
      this.outputs = Array.from({ length: L }, () => this.backend.floats(size))
      this.dOutputs = Array.from({ length: L }, (_, l) => (l < L - 1 ? this.backend.floats(size) : EMPTY))
      this.dropMasks = Array.from({ length: L }, (_, l) => (l > 0 && dropout ? this.backend.floats(size) : EMPTY))
      this.dropped = Array.from({ length: L }, (_, l) => (l > 0 && dropout ? this.backend.floats(size) : EMPTY))
    }
    const states = L * this.D * B
    if (this.hN.length < states * this.Hout) {
      this.hN = this.backend.floats(states * this.Hout)
      this.dH0 = this.backend.floats(states * this.Hout)
      this.cN = this.backend.floats(states * this.config.hiddenSize)
      this.dC0 = this.backend.floats(states * this.config.hiddenSize)
    }
  }

  /**
   * Runs the stack; returns the last layer's output [T*B x D*H_out] (time-major, padded steps 0).
   * `interrupt` is polled before every time step of every layer and direction (see interrupt.ts).
   */
  forward(batch: RecurrentBatch, interrupt: Interrupt | null = null): Floats {
    const { T, B } = batch
    this.ensureCapacity(T, B)
    this.T = T
    this.B = B
    this.training = batch.training
    this.inputKind = batch.input.kind
    const width = this.outputWidth
    const Hout = this.Hout
    const H = this.config.hiddenSize
    const p = this.config.dropout
    let input = batch.input
    for (let l = 0; l < this.layers.length; l++) {
      if (l > 0) input = { kind: 'dense', data: this.dropoutInput(l, T * B * width, batch.training && p > 0, batch.rng, interrupt) }
      const out = this.outputs[l]
      for (let d = 0; d < this.D; d++) {
        const k = l * this.D + d
        const dir = this.layers[l][d]
        dir.forward(input, T, B, batch.lengths, batch.h0, k * B * Hout, batch.c0, k * B * H, out, d * Hout, width, interrupt)
        dir.finalState(this.hN, k * B * Hout, this.cN, k * B * H)
      }
    }
    return this.outputs[this.layers.length - 1]
  }

  private dropoutInput(layer: number, size: number, active: boolean, rng: Rng | null, interrupt: Interrupt | null): Floats {
    const prev = this.outputs[layer - 1]
    if (!active) return prev
    if (!rng) throw new Error('dropout in training needs an rng')
    const p = this.config.dropout
    const scale = 1 / (1 - p)
    const mask = this.dropMasks[layer]
    const out = this.dropped[layer]
    // Polled once per time step's rows (the masks draw from the RNG: trainStep rewinds it on a stop).
    const perStep = size / this.T
    for (let i0 = 0; i0 < size; i0 += perStep) {
      pollInterrupt(interrupt)
      for (let i = i0; i < i0 + perStep; i++) {
        const m = rng.next() < p ? 0 : scale
        mask[i] = m
        out[i] = prev[i] * m
      }
    }
    return out
  }

  /**
   * Backpropagates d loss / d output ([T*B x D*H_out], null = 0) and d loss / d h_n, c_n
   * (null = 0) through the last forward. Adds parameter gradients into params.grad; fills
   * dH0 / dC0; returns d loss / d input when it was dense and `inputGrad` is set. `interrupt`
   * is polled before every time step and inside the weight gradients (see interrupt.ts).
   */
  backward(dOutput: Floats | null, dHn: Floats | null, dCn: Floats | null, inputGrad = false, interrupt: Interrupt | null = null): Floats | null {
    const { T, B } = this
    const L = this.layers.length
    const width = this.outputWidth
    const Hout = this.Hout
    const H = this.config.hiddenSize
    const dropoutActive = this.training && this.config.dropout > 0
    let dOut = dOutput
    let dInputX: Floats | null = null
    for (let l = L - 1; l >= 0; l--) {
      let dIn: Floats | null = null
      if (l > 0) {
        dIn = this.dOutputs[l - 1]
        dIn.fill(0, 0, T * B * width)
      } else if (inputGrad && this.inputKind === 'dense') {
        const size = T * B * this.config.inputSize
        if (this.dInputX.length < size) this.dInputX = this.backend.floats(size)
        this.dInputX.fill(0, 0, size)
        dIn = dInputX = this.dInputX
      }
      for (let d = 0; d < this.D; d++) {
        const k = l * this.D + d
        this.layers[l][d].backward(dOut, d * Hout, width, dHn, k * B * Hout, dCn, k * B * H, dIn,
          this.dH0, k * B * Hout, this.config.mode === 'lstm' ? this.dC0 : null, k * B * H, interrupt)
      }
      if (l > 0 && dropoutActive) {
        const mask = this.dropMasks[l]
        for (let i = 0; i < T * B * width; i++) dIn![i] *= mask[i]
      }
      dOut = dIn
    }
    return dInputX
  }
}
