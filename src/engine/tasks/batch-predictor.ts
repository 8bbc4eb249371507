import type { Floats, KernelSetName } from '../backend/types.js'
import { softmax } from '../losses.js'
import type { SequenceModel } from '../model.js'
import { Rng } from '../rng.js'
import type { Checkpoint } from './checkpoint.js'
import { type GenerateOptions, sampleNext } from './predictor.js'
import { ServedModel } from './served-model.js'
import type { TaskMeta } from './task.js'
import { UnknownCharactersError, Vocabulary } from './vocabulary.js'

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
  readonly vocab: Vocabulary | null
  private readonly served: ServedModel
  private readonly idOf: Map<string, number> | null
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
    this.served = new ServedModel(checkpoint, kernels)
    this.StateFloats = checkpoint.dtype === 'float32' ? Float32Array : Float64Array
    this.vocab = 'vocab' in this.meta ? new Vocabulary(this.meta.vocab) : null
    this.idOf = this.vocab && new Map(this.vocab.chars.map((ch, id) => [ch, id]))
    this.probs = new Float64Array(checkpoint.model.outputSize)
    this.sorted = new Float64Array(checkpoint.model.outputSize)
  }

  /** Replaced by a fresh instance after a batch grew its working memory unusually (see `release`). */
  get model(): SequenceModel {
    return this.served.model
  }

  /**
   * Call after each batch. Workspaces are sized for the longest batch seen and a WebAssembly
   * memory never shrinks: after a batch that grew them far beyond the weights (a very long
   * prompt, many rows), the instance is dropped for a fresh one, so one large request does
   * not keep its memory for as long as the model stays cached. True when it dropped one.
   */
  release(): boolean {
    return this.served.release()
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

  /**
   * Continues every prompt by its own `length` characters with its own sampling options and
   * seed. A row whose continuation is complete leaves the batch: later steps compute only the
   * rows still generating (each row's values do not depend on which others share its batch).
   */
  generate(prompts: readonly string[], options: readonly GenerateOptions[], shouldStop: ShouldStop = never): string[] {
    const vocab = this.vocab!
    const { ids, T, B, lengths } = this.encodeBatch(prompts)
    const V = this.model.config.outputSize
    const rngs = options.map((o) => new Rng(o.seed))
    const sizes = this.model.stateSizes
    const groups = this.model.config.numLayers * (this.model.config.bidirectional ? 2 : 1)
    const h = new this.StateFloats(sizes.h * B)
    const c = new this.StateFloats(sizes.c * B)
    const next = new Int32Array(B)
    /** The rows in the batch, by their index in `prompts`; `n` of them. */
    let active = Int32Array.from({ length: B }, (_, b) => b)
    let n = B
    const out = prompts.map(() => '')
    let logits = this.forwardIds(ids, T, B, lengths)
    for (let i = 0; ; i++) {
      let kept = 0
      for (let k = 0; k < n; k++) {
        const b = active[k]
        if (options[b].length <= 0) continue
        // After the prompt each row's logits sit at its last real step; later, at row k.
        const row = (i === 0 ? (lengths[b] - 1) * B + b : k) * V
        const id = sampleNext(logits, row, V, options[b], rngs[b], this.probs, this.sorted)
        out[b] += vocab.chars[id]
        next[k] = id
        if (i + 1 < options[b].length) kept++
      }
      if (kept === 0) break
      if (shouldStop()) throw new PredictionStoppedError()
      if (kept === n) {
        h.set(this.model.rnn.hN.subarray(0, sizes.h * n))
        if (c.length > 0) c.set(this.model.rnn.cN.subarray(0, sizes.c * n))
      } else {
        // Compact the state (and the next inputs) to the rows still generating.
        const keep = new Int32Array(kept)
        let j = 0
        for (let k = 0; k < n; k++) if (i + 1 < options[active[k]].length) keep[j++] = k
        keepRows(h, this.model.rnn.hN, groups, n, keep, sizes.h / groups)
        if (c.length > 0) keepRows(c, this.model.rnn.cN, groups, n, keep, sizes.c / groups)
        for (let k = 0; k < kept; k++) next[k] = next[keep[k]]
        active = active.filter((_, k) => i + 1 < options[active[k]].length)
        n = kept
      }
      logits = this.model.forward({ T: 1, B: n, input: { kind: 'ids', ids: next.subarray(0, n) }, lengths: null, h0: h, c0: c.length > 0 ? c : null, training: false, rng: null })
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
    const rows = histories.map((history) => history.map((r) => r.map((v, f) => (v - mean[f]) / std[f])))
    const out: number[][][] = histories.map(() => [])
    const steps = Math.max(...horizons)
    for (let step = 0; step < steps; step++) {
      if (step > 0 && shouldStop()) throw new PredictionStoppedError()
      // Only the rows whose horizon is not reached yet.
      const active = horizons.flatMap((horizon, b) => (step < horizon ? [b] : []))
      const B = active.length
      const lengths = new Int32Array(B)
      let T = 0
      for (let k = 0; k < B; k++) {
        lengths[k] = Math.min(window, rows[active[k]].length)
        T = Math.max(T, lengths[k])
      }
      const data = new Float64Array(T * B * F)
      for (let k = 0; k < B; k++) {
        const recent = rows[active[k]].slice(-window)
        recent.forEach((r, t) => data.set(r, (t * B + k) * F))
      }
      const pred = this.model.forward({ T, B, input: { kind: 'dense', data }, lengths: B > 1 ? lengths : null, h0: null, c0: null, training: false, rng: null })
      for (let k = 0; k < B; k++) {
        const next = Array.from(pred.subarray(k * F, (k + 1) * F))
        rows[active[k]].push(next)
        out[active[k]].push(next.map((v, f) => v * std[f] + mean[f]))
      }
    }
    return out
  }

  /**
   * Time-major ids (row t*B + b) padded with -1, and every sequence's length. The texts were
   * validated against the vocabulary when the request was admitted.
   */
  private encodeBatch(texts: readonly string[]): { ids: Int32Array; T: number; B: number; lengths: Int32Array } {
    const B = texts.length
    const lengths = new Int32Array(B)
    let T = 0
    for (let b = 0; b < B; b++) {
      let n = 0
      for (const _ of texts[b]) n++
      lengths[b] = n
      if (n > T) T = n
    }
    const ids = new Int32Array(T * B).fill(-1)
    const idOf = this.idOf!
    for (let b = 0; b < B; b++) {
      let t = 0
      for (const ch of texts[b]) {
        const id = idOf.get(ch)
        if (id === undefined) throw new UnknownCharactersError(this.vocab!.unknown(texts[b]))
        ids[t++ * B + b] = id
      }
    }
    return { ids, T, B, lengths }
  }

  private forwardIds(ids: Int32Array, T: number, B: number, lengths: Int32Array): Floats {
    return this.model.forward({ T, B, input: { kind: 'ids', ids }, lengths: B > 1 ? lengths : null, h0: null, c0: null, training: false, rng: null })
  }
}

/**
 * dst = the rows `keep` of src, where both hold `groups` blocks (layer x direction) of rows
 * `width` wide: src has `n` rows per block, dst keep.length.
 */
function keepRows(dst: Floats | Float32Array | Float64Array, src: Floats, groups: number, n: number, keep: Int32Array, width: number): void {
  for (let g = 0; g < groups; g++) {
    for (let k = 0; k < keep.length; k++) {
      const from = (g * n + keep[k]) * width
      dst.set(src.subarray(from, from + width), (g * keep.length + k) * width)
    }
  }
}
