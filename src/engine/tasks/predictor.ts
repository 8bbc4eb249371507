import type { Floats, KernelSetName } from '../backend/types.js'
import { softmax } from '../losses.js'
import type { SequenceModel } from '../model.js'
import type { StateDict } from '../params.js'
import { Rng } from '../rng.js'
import { argmaxRows } from '../train-step.js'
import type { Checkpoint } from './checkpoint.js'
import { ServedModel } from './served-model.js'
import type { TaskMeta } from './task.js'
import { Vocabulary } from './vocabulary.js'

export interface GenerateOptions {
  /** Characters to generate after the prompt. */
  length: number
  /** 0 = greedy (argmax); otherwise logits are divided by it before sampling. */
  temperature: number
  /** Sample only among the k most likely characters (0 = all). */
  topK: number
  seed: number
}

/** Serves a trained model: one instance per checkpoint, reused across requests (not thread-safe). */
export class Predictor {
  readonly meta: TaskMeta
  private readonly served: ServedModel
  private readonly vocab: Vocabulary | null
  private readonly h: Floats
  private readonly c: Floats
  private readonly probs: Float64Array
  /** Scratch for the top-k threshold, so sampling allocates nothing per character. */
  private readonly sorted: Float64Array
  private readonly oneId = new Int32Array(1)

  /**
   * Computes in the checkpoint's precision (float64 for checkpoints without one) on `kernels`
   * (default: the process's default kernel set).
   */
  constructor(checkpoint: Pick<Checkpoint, 'meta' | 'model' | 'params'> & Partial<Pick<Checkpoint, 'dtype'>>, kernels?: KernelSetName) {
    this.meta = checkpoint.meta
    this.served = new ServedModel(checkpoint, kernels)
    this.vocab = 'vocab' in this.meta ? new Vocabulary(this.meta.vocab) : null
    const sizes = this.model.stateSizes
    const Floats = checkpoint.dtype === 'float32' ? Float32Array : Float64Array
    this.h = new Floats(sizes.h)
    this.c = new Floats(sizes.c)
    this.probs = new Float64Array(checkpoint.model.outputSize)
    this.sorted = new Float64Array(checkpoint.model.outputSize)
  }

  /** Replaced by a fresh instance after a request grew its memory unusually (see ServedModel). */
  get model(): SequenceModel {
    return this.served.model
  }

  /** Characters of `text` the model has never seen (prediction would reject them). */
  unknownCharacters(text: string): string[] {
    return this.vocab ? this.vocab.unknown(text) : []
  }

  stateDict(): StateDict {
    return this.model.params.toStateDict()
  }

  /** Same-length mapping (the tutorial task): argmax at every step. */
  mapSequence(input: string): string {
    return this.served.run(() => {
      const ids = this.vocab!.encode(input)
      const T = ids.length
      if (T === 0) return ''
      const V = this.model.config.outputSize
      const logits = this.model.forward({ T, B: 1, input: { kind: 'ids', ids }, lengths: null, h0: null, c0: null, training: false, rng: null })
      const out = this.vocab!.decode(argmaxRows(new Int32Array(T), logits, T, V))
      return out
    })
  }

  /** Reads the prompt, then generates one character at a time, carrying the recurrent state. */
  generate(prompt: string, options: GenerateOptions): string {
    return this.served.run(() => {
      const vocab = this.vocab!
      const ids = vocab.encode(prompt)
      if (ids.length === 0) throw new RangeError('the prompt must contain at least one character')
      const rng = new Rng(options.seed)
      const V = this.model.config.outputSize
      let logits = this.model.forward({ T: ids.length, B: 1, input: { kind: 'ids', ids }, lengths: null, h0: null, c0: null, training: false, rng: null })
      let row = (ids.length - 1) * V
      let out = ''
      for (let i = 0; i < options.length; i++) {
        const next = this.pick(logits, row, V, options, rng)
        out += vocab.chars[next]
        if (i === options.length - 1) break
        this.saveState()
        this.oneId[0] = next
        logits = this.model.forward({ T: 1, B: 1, input: { kind: 'ids', ids: this.oneId }, lengths: null, h0: this.h, c0: this.c.length > 0 ? this.c : null, training: false, rng: null })
        row = 0
      }
      return out
    })
  }

  private saveState(): void {
    this.h.set(this.model.rnn.hN.subarray(0, this.h.length))
    if (this.c.length > 0) this.c.set(this.model.rnn.cN.subarray(0, this.c.length))
  }

  private pick(logits: Floats, row: number, V: number, options: GenerateOptions, rng: Rng): number {
    return sampleNext(logits, row, V, options, rng, this.probs, this.sorted)
  }

  /** Classifies a sequence: the label with the highest probability, and every label's probability. */
  classify(input: string): { label: string; probabilities: Record<string, number> } {
    return this.served.run(() => {
      if (this.meta.kind !== 'classes') throw new Error('not a classification model')
      const ids = this.vocab!.encode(input)
      if (ids.length === 0) throw new RangeError('the input must contain at least one character')
      const logits = this.model.forward({ T: ids.length, B: 1, input: { kind: 'ids', ids }, lengths: null, h0: null, c0: null, training: false, rng: null })
      const labels = this.meta.labels
      const p = softmax(this.probs, logits, 1, labels.length)
      let best = 0
      for (let j = 1; j < labels.length; j++) if (p[j] > p[best]) best = j
      // fromEntries defines own properties, so labels like "__proto__" are kept as labels.
      const probabilities: Record<string, number> = Object.fromEntries(labels.map((label, j) => [label, p[j]]))
      return { label: labels[best], probabilities }
    })
  }

  /**
   * Forecasts `horizon` steps: predicts the next value from the last `window` values, appends
   * it and repeats. Input and output rows have one value per feature.
   */
  forecast(history: number[][], horizon: number): number[][] {
    return this.served.run(() => {
      if (this.meta.kind !== 'series') throw new Error('not a forecasting model')
      const { features: F, window, mean, std } = this.meta
      if (history.length === 0) throw new RangeError('the input must contain at least one value')
      const rows = history.map((r) => r.map((v, f) => (v - mean[f]) / std[f]))
      const out: number[][] = []
      for (let step = 0; step < horizon; step++) {
        const recent = rows.slice(-window)
        const T = recent.length
        const data = new Float64Array(T * F)
        recent.forEach((r, t) => data.set(r, t * F))
        const pred = this.model.forward({ T, B: 1, input: { kind: 'dense', data }, lengths: null, h0: null, c0: null, training: false, rng: null })
        const next = Array.from(pred.subarray(0, F))
        rows.push(next)
        out.push(next.map((v, f) => v * std[f] + mean[f]))
      }
      return out
    })
  }
}

/**
 * Picks the next character from one row of logits: argmax at temperature 0, otherwise a draw
 * from the softmax of logits / temperature (restricted to the top k). `probs` and `sorted`
 * are V-long scratch buffers. Shared by the one-row and the batched predictor, so both draw
 * the same characters from the same seed.
 */
export function sampleNext(logits: Floats, row: number, V: number, options: Pick<GenerateOptions, 'temperature' | 'topK'>, rng: Rng, probs: Float64Array, sorted: Float64Array): number {
  if (options.temperature === 0) {
    let best = 0
    for (let j = 1; j < V; j++) if (logits[row + j] > logits[row + best]) best = j
    return best
  }
  const p = probs
  for (let j = 0; j < V; j++) p[j] = logits[row + j] / options.temperature
  if (options.topK > 0 && options.topK < V) {
    // Keep the k largest logits (ties at the threshold are kept too).
    sorted.set(p)
    sorted.sort()
    const threshold = sorted[V - options.topK]
    for (let j = 0; j < V; j++) if (p[j] < threshold) p[j] = -Infinity
  }
  softmax(p, p, 1, V)
  let u = rng.next()
  for (let j = 0; j < V; j++) {
    u -= p[j]
    if (u < 0) return j
  }
  for (let j = V - 1; j >= 0; j--) if (p[j] > 0) return j
  return 0
}
