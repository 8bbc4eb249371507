import type { ModelBatch } from '../model.js'
import type { BatchTargets } from '../train-step.js'

export interface FilledBatch {
  batch: ModelBatch
  targets: BatchTargets
  /** Number of target values the loss averages over (for weighting epoch means). */
  weight: number
}

/** Builds batches from sample indices into buffers it reuses (grown only for larger batches). */
export interface Batcher {
  /** Steps of the longest sample (every batch is at most this long). */
  readonly maxSteps: number
  fill(order: ArrayLike<number>, start: number, count: number, training: boolean): FilledBatch
}

/**
 * Character sequences of unequal length: ids time-major, padded with -1 (a zero one-hot row),
 * with `lengths` masking the padded steps. Targets are either one id per step (padding -1,
 * ignored by the loss) or one label per sequence.
 */
export class IdSequenceBatcher implements Batcher {
  private ids = new Int32Array(0)
  private lengths = new Int32Array(0)
  private targets = new Int32Array(0)
  readonly maxSteps: number

  constructor(
    private readonly inputs: readonly Int32Array[],
    private readonly stepTargets: readonly Int32Array[] | null,
    private readonly labels: Int32Array | null,
  ) {
    this.maxSteps = inputs.reduce((max, x) => Math.max(max, x.length), 0)
  }

  fill(order: ArrayLike<number>, start: number, count: number, training: boolean): FilledBatch {
    const B = count
    let T = 0
    let allFull = true
    for (let b = 0; b < B; b++) T = Math.max(T, this.inputs[order[start + b]].length)
    if (this.ids.length < T * B) this.ids = new Int32Array(T * B)
    if (this.lengths.length < B) this.lengths = new Int32Array(B)
    const targetSize = this.stepTargets ? T * B : B
    if (this.targets.length < targetSize) this.targets = new Int32Array(targetSize)
    let weight = 0
    for (let b = 0; b < B; b++) {
      const i = order[start + b]
      const x = this.inputs[i]
      this.lengths[b] = x.length
      if (x.length < T) allFull = false
      for (let t = 0; t < T; t++) this.ids[t * B + b] = t < x.length ? x[t] : -1
      if (this.stepTargets) {
        const y = this.stepTargets[i]
        for (let t = 0; t < T; t++) this.targets[t * B + b] = t < y.length ? y[t] : -1
        weight += y.length
      } else {
        this.targets[b] = this.labels![i]
        weight++
      }
    }
    return {
      batch: {
        T, B, input: { kind: 'ids', ids: this.ids.subarray(0, T * B) },
        lengths: allFull ? null : this.lengths.subarray(0, B), h0: null, c0: null, training, rng: null,
      },
      targets: { kind: 'classes', targets: this.targets.subarray(0, targetSize) },
      weight,
    }
  }
}

/** Fixed-length windows of a (normalised) multivariate series [N x F]; target = the next value. */
export class WindowBatcher implements Batcher {
  private data = new Float64Array(0)
  private targets = new Float64Array(0)

  constructor(private readonly series: Float64Array, private readonly features: number, private readonly window: number) {}

  get maxSteps(): number {
    return this.window
  }

  fill(order: ArrayLike<number>, start: number, count: number, training: boolean): FilledBatch {
    const B = count
    const T = this.window
    const F = this.features
    if (this.data.length < T * B * F) this.data = new Float64Array(T * B * F)
    if (this.targets.length < B * F) this.targets = new Float64Array(B * F)
    for (let b = 0; b < B; b++) {
      const s = order[start + b]
      for (let t = 0; t < T; t++) {
        const src = (s + t) * F
        const dst = (t * B + b) * F
        for (let f = 0; f < F; f++) this.data[dst + f] = this.series[src + f]
      }
      const src = (s + T) * F
      for (let f = 0; f < F; f++) this.targets[b * F + f] = this.series[src + f]
    }
    return {
      batch: { T, B, input: { kind: 'dense', data: this.data.subarray(0, T * B * F) }, lengths: null, h0: null, c0: null, training, rng: null },
      targets: { kind: 'values', targets: this.targets.subarray(0, B * F) },
      weight: B * F,
    }
  }
}
