import type { Rng } from '../rng.js'
import type { Batcher, FilledBatch } from './batching.js'

/** The batches of one epoch, in order. */
export interface BatchPlan {
  /** Consecutive batches continue the same B sequences (the hidden state flows from one batch to the next). */
  readonly stateful: boolean
  readonly batchCount: number
  readonly sampleCount: number
  /** Steps and rows of the largest batch: every batch has at most T steps and B rows. */
  readonly maxShape: { T: number; B: number }
  /** Starts an epoch; a plan that shuffles draws the permutation from `rng`. */
  beginEpoch(rng: Rng | null): void
  fill(k: number, training: boolean): FilledBatch
}

/** Independent samples grouped into batches of `batchSize`, reshuffled every epoch when given an rng. */
export class SampleBatchPlan implements BatchPlan {
  readonly stateful = false
  private readonly order: Int32Array

  constructor(private readonly batcher: Batcher, private readonly indices: Int32Array, private readonly batchSize: number) {
    this.order = Int32Array.from(indices)
  }

  get batchCount(): number {
    return Math.ceil(this.indices.length / this.batchSize)
  }

  get sampleCount(): number {
    return this.indices.length
  }

  get maxShape(): { T: number; B: number } {
    return { T: this.batcher.maxSteps, B: Math.min(this.batchSize, this.indices.length) }
  }

  beginEpoch(rng: Rng | null): void {
    // Always from the canonical order, so an epoch's permutation depends only on the rng state.
    this.order.set(this.indices)
    if (rng) rng.shuffle(this.order)
  }

  fill(k: number, training: boolean): FilledBatch {
    const start = k * this.batchSize
    return this.batcher.fill(this.order, start, Math.min(this.batchSize, this.indices.length - start), training)
  }
}

/**
 * A long id sequence cut into B parallel streams read T steps at a time (truncated
 * backpropagation through time, as in PyTorch's word_language_model): batch k holds steps
 * [kT, kT+T) of every stream, the target is the next character.
 */
export class StreamBatchPlan implements BatchPlan {
  readonly stateful = true
  readonly batchCount: number
  readonly B: number
  private readonly streamLength: number
  private readonly input: Int32Array
  private readonly target: Int32Array

  constructor(private readonly ids: Int32Array, batchSize: number, private readonly T: number) {
    const usable = ids.length - 1
    this.B = Math.max(1, Math.min(batchSize, Math.floor(usable / T)))
    this.streamLength = Math.floor(usable / this.B)
    this.batchCount = Math.ceil(this.streamLength / T)
    this.input = new Int32Array(T * this.B)
    this.target = new Int32Array(T * this.B)
  }

  get sampleCount(): number {
    return this.B * this.batchCount
  }

  get maxShape(): { T: number; B: number } {
    return { T: Math.min(this.T, this.streamLength), B: this.B }
  }

  beginEpoch(): void {}

  fill(k: number, training: boolean): FilledBatch {
    const B = this.B
    const start = k * this.T
    const T = Math.min(this.T, this.streamLength - start)
    for (let b = 0; b < B; b++) {
      const base = b * this.streamLength + start
      for (let t = 0; t < T; t++) {
        this.input[t * B + b] = this.ids[base + t]
        this.target[t * B + b] = this.ids[base + t + 1]
      }
    }
    return {
      batch: { T, B, input: { kind: 'ids', ids: this.input.subarray(0, T * B) }, lengths: null, h0: null, c0: null, training, rng: null },
      targets: { kind: 'classes', targets: this.target.subarray(0, T * B) },
      weight: T * B,
    }
  }
}
