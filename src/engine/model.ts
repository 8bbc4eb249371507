import type { Backend, Floats } from './backend/types.js'
import { initLinearParams, initRecurrentParams } from './init.js'
import { type Interrupt, pollInterrupt } from './interrupt.js'
import { Linear } from './linear.js'
import { Parameters } from './params.js'
import type { Rng } from './rng.js'
import { type RecurrentConfig, type RecurrentMode, outputHiddenSize, recurrentParamSpecs } from './recurrent/config.js'
import { EMPTY } from './recurrent/direction.js'
import { Recurrent, type RecurrentBatch } from './recurrent/recurrent.js'

/** `every_step`: the head reads every step (seq2seq, language model); `last_step`: the final state (forecast, classify). */
export type HeadMode = 'every_step' | 'last_step'

export interface SequenceModelConfig {
  mode: RecurrentMode
  /** Vocabulary size for one-hot inputs, feature count for dense inputs. */
  inputSize: number
  oneHot: boolean
  hiddenSize: number
  numLayers: number
  bidirectional: boolean
  projSize: number
  dropout: number
  outputSize: number
  head: HeadMode
}

/** A batch for the whole model is a batch for its recurrent stack (time-major, row t*B + b). */
export type ModelBatch = RecurrentBatch

export const RNN_PREFIX = 'rnn.'
export const FC_PREFIX = 'fc.'

/**
 * A recurrent stack ("rnn.*") followed by a Linear head ("fc.*") — the module layout of the
 * PyTorch tutorial, so state dicts carry the same names. All parameters share one vector.
 */
export class SequenceModel {
  readonly config: SequenceModelConfig
  readonly params: Parameters
  readonly rnn: Recurrent
  readonly fc: Linear
  private readonly features: number
  private lastFeatures = EMPTY
  private dLastFeatures = EMPTY
  private dOutput = EMPTY
  private dHn = EMPTY
  private logits = EMPTY
  private B = 0
  private T = 0
  private rnnOutput: Floats = EMPTY

  /** Without a backend: the engine defaults (float64 on the default kernel set, see backend/select.ts). */
  constructor(config: SequenceModelConfig, backend?: Backend) {
    this.config = config
    const rnnConfig = recurrentConfigOf(config)
    const Hout = outputHiddenSize(rnnConfig)
    this.features = Hout * (config.bidirectional ? 2 : 1)
    this.params = new Parameters([
      ...recurrentParamSpecs(rnnConfig, RNN_PREFIX),
      ...Linear.paramSpecs(FC_PREFIX, this.features, config.outputSize),
    ], backend)
    this.rnn = new Recurrent(rnnConfig, this.params, RNN_PREFIX)
    this.fc = new Linear(this.params, FC_PREFIX, this.features, config.outputSize)
  }

  /** PyTorch's default initialisation, drawn from `rng`. */
  init(rng: Rng): void {
    initRecurrentParams(this.params, RNN_PREFIX, this.config.hiddenSize, rng)
    initLinearParams(this.params, FC_PREFIX, this.features, rng)
  }

  /** Number of (h, c) values per sequence in the recurrent state. */
  get stateSizes(): { h: number; c: number } {
    const layersDirs = this.config.numLayers * (this.config.bidirectional ? 2 : 1)
    return { h: layersDirs * this.rnn.Hout, c: this.config.mode === 'lstm' ? layersDirs * this.config.hiddenSize : 0 }
  }

  /**
   * Returns the logits: [T*B x O] time-major for `every_step`, [B x O] for `last_step`.
   * The returned buffer is reused by the next call. `interrupt` is polled every time step and
   * inside the long products (interrupt.ts); a stop throws StepInterruptedError.
   */
  forward(batch: ModelBatch, interrupt: Interrupt | null = null): Floats {
    const { T, B } = batch
    this.T = T
    this.B = B
    const O = this.config.outputSize
    const out = this.rnn.forward(batch, interrupt)
    this.rnnOutput = out
    pollInterrupt(interrupt)
    if (this.config.head === 'every_step') {
      if (this.logits.length < T * B * O) this.logits = this.params.backend.floats(T * B * O)
      this.fc.forward(this.logits, out, T * B, interrupt)
      return this.logits
    }
    const F = this.features
    if (this.lastFeatures.length < B * F) {
      this.lastFeatures = this.params.backend.floats(B * F)
      this.dLastFeatures = this.params.backend.floats(B * F)
    }
    this.gatherLastFeatures(B)
    if (this.logits.length < B * O) this.logits = this.params.backend.floats(B * O)
    this.fc.forward(this.logits, this.lastFeatures, B)
    return this.logits
  }

  /**
   * The last layer's final state of every direction, concatenated ([h_n[-2], h_n[-1]] when
   * bidirectional): the forward direction at each sequence's last real step, the reverse
   * direction after reading the whole sequence back to step 0.
   */
  private gatherLastFeatures(B: number): void {
    const D = this.config.bidirectional ? 2 : 1
    const Hout = this.rnn.Hout
    const top = (this.config.numLayers - 1) * D
    const hN = this.rnn.hN
    for (let b = 0; b < B; b++) {
      for (let d = 0; d < D; d++) {
        const src = ((top + d) * B + b) * Hout
        const dst = b * this.features + d * Hout
        for (let j = 0; j < Hout; j++) this.lastFeatures[dst + j] = hN[src + j]
      }
    }
  }

  /** Backpropagates d loss / d logits (layout of forward's result); adds into params.grad. Polls `interrupt` as forward does. */
  backward(dLogits: Floats, interrupt: Interrupt | null = null): void {
    const { T, B } = this
    if (this.config.head === 'every_step') {
      const size = T * B * this.features
      if (this.dOutput.length < size) this.dOutput = this.params.backend.floats(size)
      this.fc.backward(this.dOutput, dLogits, this.rnnOutput, T * B, interrupt)
      pollInterrupt(interrupt)
      this.rnn.backward(this.dOutput, null, null, false, interrupt)
      return
    }
    this.fc.backward(this.dLastFeatures, dLogits, this.lastFeatures, B)
    const D = this.config.bidirectional ? 2 : 1
    const Hout = this.rnn.Hout
    const states = this.config.numLayers * D * B * Hout
    if (this.dHn.length < states) this.dHn = this.params.backend.floats(states)
    this.dHn.fill(0, 0, states)
    const top = (this.config.numLayers - 1) * D
    for (let b = 0; b < B; b++) {
      for (let d = 0; d < D; d++) {
        const dst = ((top + d) * B + b) * Hout
        const src = b * this.features + d * Hout
        for (let j = 0; j < Hout; j++) this.dHn[dst + j] = this.dLastFeatures[src + j]
      }
    }
    this.rnn.backward(null, this.dHn, null, false, interrupt)
  }
}

export function recurrentConfigOf(config: SequenceModelConfig): RecurrentConfig {
  return {
    mode: config.mode,
    inputSize: config.inputSize,
    hiddenSize: config.hiddenSize,
    numLayers: config.numLayers,
    bidirectional: config.bidirectional,
    projSize: config.projSize,
    dropout: config.dropout,
  }
}
