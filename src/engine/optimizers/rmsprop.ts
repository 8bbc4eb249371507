/**
 * RMSprop as torch.optim.RMSprop (eps added outside the square root, momentum buffer from zero):
 *
 *   g = ±grad + weight_decay * p
 *   sq = alpha * sq + (1 - alpha) * g * g
 *   centered: ga = lerp(ga, g, 1 - alpha);  avg = sqrt(sq - ga * ga) + eps
 *   otherwise: avg = sqrt(sq) + eps
 *   momentum > 0: buf = momentum * buf + g / avg;  p = p - lr * buf
 *   otherwise:    p = p - lr * (g / avg)
 */
import type { Backend, Dtype, Floats } from '../backend/types.js'
import { OptimizerBase } from './base.js'
import { lerp } from './lerp.js'
import { resolveRmspropOptions } from './options.js'
import type { Optimizer, OptimizerOptions, RmspropOptionsResolved } from './types.js'

export class RmspropOptimizer extends OptimizerBase implements Optimizer {
  readonly name = 'rmsprop' as const
  readonly options: RmspropOptionsResolved
  private readonly squareAvg: Floats
  private readonly momentumBuffer: Floats | null
  private readonly gradAvg: Floats | null

  constructor(size: number, options: OptimizerOptions, dtype: Dtype | Backend = 'float64') {
    super(size, dtype)
    this.options = resolveRmspropOptions(options)
    this.squareAvg = this.buffer('square_avg')
    this.momentumBuffer = this.options.momentum > 0 ? this.buffer('momentum_buffer') : null
    this.gradAvg = this.options.centered ? this.buffer('grad_avg') : null
  }

  step(params: Floats, grads: Floats): void {
    this.checkSizes(params, grads)
    const { lr, alpha, eps, weight_decay: wd, momentum, maximize } = this.options
    this.steps++
    const sq = this.squareAvg
    const ga = this.gradAvg
    const buf = this.momentumBuffer
    for (let i = 0; i < this.size; i++) {
      const p = params[i]
      let g = maximize ? -grads[i] : grads[i]
      if (wd !== 0) g += wd * p
      const s = sq[i] * alpha + (1 - alpha) * (g * g)
      sq[i] = s
      let avg: number
      if (ga !== null) {
        const a = lerp(ga[i], g, 1 - alpha)
        ga[i] = a
        avg = Math.sqrt(s - a * a) + eps
      } else {
        avg = Math.sqrt(s) + eps
      }
      if (buf !== null) {
        const b = buf[i] * momentum + g / avg
        buf[i] = b
        params[i] = p - lr * b
      } else {
        params[i] = p - lr * (g / avg)
      }
    }
  }
}
