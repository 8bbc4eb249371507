/**
 * Adam and AdamW, following torch.optim's single-tensor implementation operation by operation:
 *
 *   g = ±grad (+ weight_decay * p for Adam's L2 penalty)     | AdamW instead: p *= 1 - lr * weight_decay
 *   m = lerp(m, g, 1 - beta1);  v = beta2 * v + (1 - beta2) * g * g
 *   vmax = max(vmax, v) when amsgrad, else v
 *   denom = sqrt(vmax) / sqrt(1 - beta2^t) + eps
 *   p = p - (lr / (1 - beta1^t)) * (m / denom)
 */
import type { Backend, Dtype, Floats } from '../backend/types.js'
import { OptimizerBase } from './base.js'
import { lerp } from './lerp.js'
import { resolveAdamOptions } from './options.js'
import type { AdamOptionsResolved, Optimizer, OptimizerOptions } from './types.js'

export class AdamOptimizer extends OptimizerBase implements Optimizer {
  readonly name: 'adam' | 'adamw'
  readonly options: AdamOptionsResolved
  private readonly expAvg: Floats
  private readonly expAvgSq: Floats
  private readonly maxExpAvgSq: Floats | null

  constructor(name: 'adam' | 'adamw', size: number, options: OptimizerOptions, dtype: Dtype | Backend = 'float64') {
    super(size, dtype)
    this.name = name
    this.options = resolveAdamOptions(name, options)
    this.expAvg = this.buffer('exp_avg')
    this.expAvgSq = this.buffer('exp_avg_sq')
    this.maxExpAvgSq = this.options.amsgrad ? this.buffer('max_exp_avg_sq') : null
  }

  step(params: Floats, grads: Floats): void {
    this.checkSizes(params, grads)
    const { lr, eps, weight_decay: wd, maximize } = this.options
    const beta1 = this.options.betas[0]
    const beta2 = this.options.betas[1]
    const t = ++this.steps
    const stepSize = lr / (1 - beta1 ** t)
    const biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** t)
    const decoupled = this.name === 'adamw'
    const decayFactor = 1 - lr * wd
    const l2 = decoupled ? 0 : wd
    const m = this.expAvg
    const v = this.expAvgSq
    const vmax = this.maxExpAvgSq
    // The backend's kernel gives the same bits as the loop below (kernels/wasm/assembly/adam.ts).
    if (this.backend?.adamStep(params, grads, m, v, vmax, {
      stepSize, biasCorrection2Sqrt, beta2, eps, weight: 1 - beta1, decay: decoupled ? decayFactor : 1, sign: maximize ? -1 : 1, l2,
    })) return
    for (let i = 0; i < this.size; i++) {
      let p = params[i]
      if (decoupled) p *= decayFactor
      let g = maximize ? -grads[i] : grads[i]
      if (l2 !== 0) g += l2 * p
      const mi = lerp(m[i], g, 1 - beta1)
      const vi = v[i] * beta2 + (1 - beta2) * (g * g)
      m[i] = mi
      v[i] = vi
      let second = vi
      if (vmax !== null) {
        second = Math.max(vmax[i], vi)
        vmax[i] = second
      }
      const denom = Math.sqrt(second) / biasCorrection2Sqrt + eps
      params[i] = p - stepSize * (mi / denom)
    }
  }
}
