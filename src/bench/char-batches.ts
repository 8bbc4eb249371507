import { mulberry32, type UniformSource } from './mulberry32.js'

/** One batch of B windows of T ids, batch-first (row b*T + t), as the reference engines build it. */
export interface CharBatch {
  T: number
  B: number
  inputs: Int32Array
  targets: Int32Array
}

/**
 * Character batches of WORKLOADS.md: one mulberry32 stream per seed; per sequence
 * `s = floor(r * (N - T - 1))`, input ids[s .. s+T), target ids[s+1 .. s+T+1).
 * The k-th call to `next()` is batch k of the stream.
 */
export class CharBatchStream {
  private readonly random: UniformSource

  constructor(private readonly ids: Int32Array, readonly T: number, readonly B: number, seed: number) {
    if (ids.length < T + 2) throw new RangeError(`corpus of ${ids.length} ids is too short for windows of ${T}`)
    this.random = mulberry32(seed)
  }

  next(): CharBatch {
    const { T, B, ids } = this
    const span = ids.length - T - 1
    const inputs = new Int32Array(B * T)
    const targets = new Int32Array(B * T)
    for (let b = 0; b < B; b++) {
      const s = Math.floor(this.random() * span)
      inputs.set(ids.subarray(s, s + T), b * T)
      targets.set(ids.subarray(s + 1, s + T + 1), b * T)
    }
    return { T, B, inputs, targets }
  }

  /** Batches k = 0 .. count-1 of the stream (continuing from wherever it is). */
  take(count: number): CharBatch[] {
    return Array.from({ length: count }, () => this.next())
  }
}

/** out[t*B + b] = ids[b*T + t]: batch-first ids to the engine's time-major layout. */
export function idsToTimeMajor(out: Int32Array, ids: Int32Array, B: number, T: number): Int32Array {
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) out[t * B + b] = ids[b * T + t]
  return out
}
