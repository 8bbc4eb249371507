/**
 * SGD with optional momentum / Nesterov, as torch.optim.SGD:
 *
 *   g = ±grad + weight_decay * p
 *   buf = g on the first step, then buf = momentum * buf + (1 - dampening) * g
 *   g = nesterov ? g + momentum * buf : buf
 *   p = p - lr * g
 */
import type { Backend, Dtype, Floats } from '../backend/types.js'
import { OptimizerBase } from './base.js'
import { resolveSgdOptions } from './options.js'
import type { Optimizer, OptimizerOptions, SgdOptionsResolved } from './types.js'

export class SgdOptimizer extends OptimizerBase implements Optimizer {
  readonly name = 'sgd' as const
  readonly options: SgdOptionsResolved
  private readonly momentumBuffer: Floats | null

  constructor(size: number, options: OptimizerOptions, dtype: Dtype | Backend = 'float64') {
    super(size, dtype)
    this.options = resolveSgdOptions(options)
    this.momentumBuffer = this.options.momentum !== 0 ? this.buffer('momentum_buffer') : null
  }

  step(params: Floats, grads: Floats): void {
    this.checkSizes(params, grads)
    const { lr, momentum, dampening, nesterov, weight_decay: wd, maximize } = this.options
    // PyTorch's buffer starts as None and is set to the gradient on first use.
    const firstStep = this.steps === 0
    this.steps++
    const buf = this.momentumBuffer
    for (let i = 0; i < this.size; i++) {
      const p = params[i]
      let g = maximize ? -grads[i] : grads[i]
      if (wd !== 0) g += wd * p
      if (buf !== null) {
        const b = firstStep ? g : buf[i] * momentum + (1 - dampening) * g
        buf[i] = b
        g = nesterov ? g + momentum * b : b
      }
      params[i] = p - lr * g
    }
  }
}
