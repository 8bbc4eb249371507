import { createBackend } from '../backend/select.js'
import type { Floats, KernelSetName } from '../backend/types.js'
import { softmax } from '../losses.js'
import { SequenceModel } from '../model.js'
import { Rng } from '../rng.js'
import type { Checkpoint } from './checkpoint.js'
import { type GenerateOptions, sampleNext, workingMemoryLimit } from './predictor.js'
import type { TaskMeta } from './task.js'
import { Vocabulary } from './vocabulary.js'

/** A cooperative stop was requested (the request's deadline passed) between two steps. */
export class PredictionStoppedError extends Error {
  constructor() {
    super('prediction stopped: its deadline passed')
    this.name = 'PredictionStoppedError'
  }
}

/** Asked between forward steps; true stops the computation with PredictionStoppedError. */
export type ShouldStop = () => boolean

const never: ShouldStop = () => false

/**
 * Serves many inputs of one model in one batched forward per step (dynamic micro-batching).
 * Sequences of different lengths are padded at the end and carry their state through the
 * padding, so every row computes exactly what `Predictor` computes for it alone: the kernels
 * sum each output element over k in the same order whatever the batch size, and rows never
 * mix (test/serving/batch-exact.test.ts holds both to bit equality).
 *
 * Inputs are already validated (characters in the vocabulary, rows of `features` values);
 * not thread-safe, one instance per model per worker.
 */
export class BatchPredictor {
  readonly meta: TaskMeta
  /** Replaced by a fresh instance after a request grew its working memory unusually (see `release`). */
  model: SequenceModel
  readonly vocab: Vocabulary | null
  private readonly source: Pick<Checkpoint, 'model' | 'params'> & Partial<Pick<Checkpoint, 'dtype'>>
  private readonly kernels: KernelSetName | undefined
  private readonly bytesLimit: number
  private probs: Float64Array
  private sorted: Float64Array
  /** The state arrays' type: the checkpoint's precision, as the backend computes in it. */
  private readonly StateFloats: Float32ArrayConstructor | Float64ArrayConstructor

  /**
   * Computes in the checkpoint's precision (float64 for checkpoints without one) on `kernels`
   * (default: the process's default kernel set), as `Predictor` does.
   */
  constructor(checkpoint: Pick<Checkpoint, 'meta' | 'model' | 'params'> & Partial<Pick<Checkpoint, 'dtype'>>, kernels?: KernelSetName) {
    this.meta = checkpoint.meta
    this.source = checkpoint
    this.kernels = kernels
    this.model = this.instance()
    this.bytesLimit = workingMemoryLimit(this.model)
    this.StateFloats = checkpoint.dtype === 'float32' ? Float32Array : Float64Array
    this.vocab = 'vocab' in this.meta ? new Vocabulary(this.meta.vocab) : null
    this.probs = new Float64Array(checkpoint.model.outputSize)
    this.sorted = new Float64Array(checkpoint.model.outputSize)
  }

  private instance(): SequenceModel {
    const model = new SequenceModel(this.source.model, createBackend(this.source.dtype ?? 'float64', this.kernels))
    model.params.data.set(this.source.params)
    return model
  }

  /**
   * Call after each batch. Workspaces are sized for the longest batch seen and a WebAssembly
   * memory never shrinks: after a batch that grew them far beyond the weights (a very long
   * prompt, many rows), the instance is dropped for a fresh one, so one large request does
   * not keep its memory for as long as the model stays cached. True when it dropped one.
   */
  release(): boolean {
    if (this.model.params.backend.bytes <= this.bytesLimit) return false
    this.model = this.instance()
    return true
  }

  /** Bytes this model holds in memory, as its backend counts them (the WebAssembly memory for wasm). */
  get bytes(): number {
    return this.model.params.backend.bytes
  }

  /** Same-length mapping: argmax at every real step of every row. */
  mapSequences(inputs: readonly string[]): string[] {
    const { ids, T, B, lengths } = this.encodeBatch(inputs)
    if (T === 0) return inputs.map(() => '')
    const V = this.model.config.outputSize
    const logits = this.forwardIds(ids, T, B, lengths)
    return inputs.map((_, b) => {
      let out = ''
      for (let t = 0; t < lengths[b]; t++) {
        const o = (t * B + b) * V
        let best = 0
        for (let j = 1; j < V; j++) if (logits[o + j] > logits[o + best]) best = j
        out += this.vocab!.chars[best]
      }
      return out
    })
  }

  /** Every row's label probabilities, in the order of meta.labels. */
  classify(inputs: readonly string[]): Float64Array[] {
    if (this.meta.kind !== 'classes') throw new Error('not a classification model')
    const { ids, T, B, lengths } = this.encodeBatch(inputs)
    const logits = this.forwardIds(ids, T, B, lengths)
    const L = this.meta.labels.length
    return inputs.map((_, b) => {
      const p = new Float64Array(L)
      softmax(p, logits.subarray(b * L, (b + 1) * L), 1, L)
      return p
    })
  }

  /** Continues every prompt by its own `length` characters with its own sampling options and seed. */
  generate(prompts: readonly string[], options: readonly GenerateOptions[], shouldStop: ShouldStop = never): string[] {
    const vocab = this.vocab!
    const { ids, T, B, lengths } = this.encodeBatch(prompts)
    const V = this.model.config.outputSize
    const rngs = options.map((o) => new Rng(o.seed))
    const steps = Math.max(...options.map((o) => o.length))
    const sizes = this.model.stateSizes
    const h = new this.StateFloats(sizes.h * B)
    const c = new this.StateFloats(sizes.c * B)
    const next = new Int32Array(B)
    const rows = Array.from({ length: B }, (_, b) => ((lengths[b] - 1) * B + b) * V)
    const out = prompts.map(() => '')
    let logits = this.forwardIds(ids, T, B, lengths)
    for (let i = 0; i < steps; i++) {
      for (let b = 0; b < B; b++) {
        if (i >= options[b].length) continue
        next[b] = sampleNext(logits, rows[b], V, options[b], rngs[b], this.probs, this.sorted)
        out[b] += vocab.chars[next[b]]
      }
      if (i === steps - 1) break
      if (shouldStop()) throw new PredictionStoppedError()
      h.set(this.model.rnn.hN.subarray(0, h.length))
      if (c.length > 0) c.set(this.model.rnn.cN.subarray(0, c.length))
      logits = this.model.forward({ T: 1, B, input: { kind: 'ids', ids: next }, lengths: null, h0: h, c0: c.length > 0 ? c : null, training: false, rng: null })
      for (let b = 0; b < B; b++) rows[b] = b * V
    }
    return out
  }

  /**
   * Forecasts `horizons[b]` steps for every history: each step reads the last `window` rows
   * (standardised), predicts the next row and appends it. Rows are one value per feature.
   */
  forecast(histories: readonly number[][][], horizons: readonly number[], shouldStop: ShouldStop = never): number[][][] {
    if (this.meta.kind !== 'series') throw new Error('not a forecasting model')
    const { features: F, window, mean, std } = this.meta
    const B = histories.length
    const rows = histories.map((history) => history.map((r) => r.map((v, f) => (v - mean[f]) / std[f])))
    const out: number[][][] = histories.map(() => [])
    const steps = Math.max(...horizons)
    const lengths = new Int32Array(B)
    for (let step = 0; step < steps; step++) {
      if (step > 0 && shouldStop()) throw new PredictionStoppedError()
      let T = 0
      for (let b = 0; b < B; b++) {
        lengths[b] = Math.min(window, rows[b].length)
        T = Math.max(T, lengths[b])
      }
      const data = new Float64Array(T * B * F)
      for (let b = 0; b < B; b++) {
        const recent = rows[b].slice(-window)
        recent.forEach((r, t) => data.set(r, (t * B + b) * F))
      }
      const pred = this.model.forward({ T, B, input: { kind: 'dense', data }, lengths: B > 1 ? lengths : null, h0: null, c0: null, training: false, rng: null })
      for (let b = 0; b < B; b++) {
        const next = Array.from(pred.subarray(b * F, (b + 1) * F))
        rows[b].push(next)
        if (step < horizons[b]) out[b].push(next.map((v, f) => v * std[f] + mean[f]))
      }
    }
    return out
  }

  /** Time-major ids (row t*B + b) padded with -1, and every sequence's length. */
  private encodeBatch(texts: readonly string[]): { ids: Int32Array; T: number; B: number; lengths: Int32Array } {
    const encoded = texts.map((text) => this.vocab!.encode(text))
    const B = encoded.length
    const lengths = Int32Array.from(encoded, (e) => e.length)
    const T = Math.max(0, ...lengths)
    const ids = new Int32Array(T * B).fill(-1)
    encoded.forEach((e, b) => e.forEach((id, t) => { ids[t * B + b] = id }))
    return { ids, T, B, lengths }
  }

  private forwardIds(ids: Int32Array, T: number, B: number, lengths: Int32Array): Floats {
    return this.model.forward({ T, B, input: { kind: 'ids', ids }, lengths: B > 1 ? lengths : null, h0: null, c0: null, training: false, rng: null })
  }
}
