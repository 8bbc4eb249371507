/**
 * Adagrad as torch.optim.Adagrad:
 *
 *   g = ±grad + weight_decay * p
 *   clr = lr / (1 + (t - 1) * lr_decay)
 *   sum = sum + g * g                       (sum starts at initial_accumulator_value)
 *   p = p - clr * (g / (sqrt(sum) + eps))
 */
import type { Backend, Dtype, Floats } from '../backend/types.js'
import { OptimizerBase } from './base.js'
import { resolveAdagradOptions } from './options.js'
import type { AdagradOptionsResolved, Optimizer, OptimizerOptions } from './types.js'

export class AdagradOptimizer extends OptimizerBase implements Optimizer {
  readonly name = 'adagrad' as const
  readonly options: AdagradOptionsResolved
  private readonly sum: Floats

  constructor(size: number, options: OptimizerOptions, dtype: Dtype | Backend = 'float64') {
    super(size, dtype)
    this.options = resolveAdagradOptions(options)
    this.sum = this.buffer('sum', this.options.initial_accumulator_value)
  }

  step(params: Floats, grads: Floats): void {
    this.checkSizes(params, grads)
    const { lr, lr_decay: lrDecay, weight_decay: wd, eps, maximize } = this.options
    const t = ++this.steps
    const clr = lr / (1 + (t - 1) * lrDecay)
    const sum = this.sum
    for (let i = 0; i < this.size; i++) {
      const p = params[i]
      let g = maximize ? -grads[i] : grads[i]
      if (wd !== 0) g += wd * p
      const s = sum[i] + g * g
      sum[i] = s
      params[i] = p - clr * (g / (Math.sqrt(s) + eps))
    }
  }
}
