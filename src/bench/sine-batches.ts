import { mulberry32, type UniformSource } from './mulberry32.js'

/** B noisy sine windows, batch-first: inputs [B x T] (input size 1), targets [B] (the next value). */
export interface SineBatch {
  T: number
  B: number
  inputs: Float64Array
  targets: Float64Array
}

/** Box-Muller from the shared stream, one fresh (u, v) pair per Gaussian (no cached spare). */
function gaussian(random: UniformSource): number {
  let u = random()
  while (u === 0) u = random()
  const v = random()
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
}

/**
 * Sine batches of WORKLOADS.md: per sequence `t0 = floor(r * 10000)`, then for k = 0..T
 * `v_k = sin(0.1 (t0 + k)) + 0.1 g_k`; input v_0..v_{T-1}, target v_T.
 */
export class SineBatchStream {
  private readonly random: UniformSource

  constructor(readonly T: number, readonly B: number, seed: number) {
    this.random = mulberry32(seed)
  }

  next(): SineBatch {
    const { T, B } = this
    const inputs = new Float64Array(B * T)
    const targets = new Float64Array(B)
    for (let b = 0; b < B; b++) {
      const t0 = Math.floor(this.random() * 10000)
      for (let k = 0; k <= T; k++) {
        const v = Math.sin(0.1 * (t0 + k)) + 0.1 * gaussian(this.random)
        if (k < T) inputs[b * T + k] = v
        else targets[b] = v
      }
    }
    return { T, B, inputs, targets }
  }

  take(count: number): SineBatch[] {
    return Array.from({ length: count }, () => this.next())
  }
}
