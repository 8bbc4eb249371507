/**
 * Shared bookkeeping of every optimizer: the flat size, the step counter and the named state
 * buffers, with exact save/restore. Subclasses allocate their buffers once, at construction,
 * through `buffer()`, so `step` never allocates.
 */
import type { Backend, Dtype, Floats } from '../backend/types.js'
import type { OptimizerName, OptimizerState, ResolvedOptimizerOptions, ScheduledHyperparameters } from './types.js'

export abstract class OptimizerBase {
  abstract readonly name: OptimizerName
  abstract readonly options: Readonly<ResolvedOptimizerOptions>
  readonly size: number
  protected steps = 0
  private readonly named: Record<string, Floats> = {}

  /** The element type of the state buffers: the parameters' precision, as in PyTorch. */
  readonly dtype: Dtype
  /** The parameters' backend when given: the state buffers live in its memory, beside the parameters, for its kernels. */
  protected readonly backend: Backend | null

  /** `dtype` alone keeps the state in ordinary typed arrays (the JavaScript loops). */
  constructor(size: number, dtype: Dtype | Backend) {
    this.backend = typeof dtype === 'string' ? null : dtype
    this.dtype = typeof dtype === 'string' ? dtype : dtype.dtype
    if (!Number.isInteger(size) || size < 0) {
      throw new RangeError(`optimizer size must be a non-negative integer, got ${size}`)
    }
    this.size = size
  }

  get stepCount(): number {
    return this.steps
  }

  getState(): OptimizerState {
    const buffers: Record<string, Floats> = {}
    for (const [key, buf] of Object.entries(this.named)) buffers[key] = buf.slice()
    return { step: this.steps, buffers }
  }

  setState(s: OptimizerState): void {
    if (s === null || typeof s !== 'object' || s.buffers === null || typeof s.buffers !== 'object') {
      throw new RangeError(`${this.name}: state must be { step, buffers }`)
    }
    if (!Number.isInteger(s.step) || s.step < 0) {
      throw new RangeError(`${this.name}: state step must be a non-negative integer, got ${s.step}`)
    }
    const expected = Object.keys(this.named).sort()
    const given = Object.keys(s.buffers).sort()
    if (expected.join(',') !== given.join(',')) {
      throw new RangeError(
        `${this.name}: state buffers [${given.join(', ')}] do not match [${expected.join(', ')}]`,
      )
    }
    for (const key of expected) {
      const src = s.buffers[key]
      if (!(src instanceof Float64Array || src instanceof Float32Array) || src.length !== this.size) {
        throw new RangeError(`${this.name}: state buffer '${key}' must be a Float64Array or Float32Array of length ${this.size}`)
      }
    }
    // Validate everything before copying so a bad state leaves the optimizer untouched.
    for (const key of expected) this.named[key].set(s.buffers[key])
    this.steps = s.step
  }

  setHyperparameters(h: ScheduledHyperparameters): void {
    const o = this.options as Readonly<Record<string, unknown>>
    const betas = o.betas as readonly [number, number] | undefined
    const momentum = h.momentum === undefined ? undefined : betas ? betas[0] : o.momentum
    if (o.lr === h.lr && momentum === h.momentum) return
    const next: Record<string, unknown> = { ...o, lr: h.lr }
    if (h.momentum !== undefined && betas) next.betas = Object.freeze([h.momentum, betas[1]])
    else if (h.momentum !== undefined && 'momentum' in o) next.momentum = h.momentum
    // The resolved options stay frozen; steps read them afresh, so the new values apply from the next step.
    ;(this as { options: unknown }).options = Object.freeze(next)
  }

  protected buffer(key: string, fill = 0): Floats {
    const buf = this.backend ? this.backend.floats(this.size) : this.dtype === 'float32' ? new Float32Array(this.size) : new Float64Array(this.size)
    if (fill !== 0) buf.fill(fill)
    this.named[key] = buf
    return buf
  }

  protected checkSizes(params: Floats, grads: Floats): void {
    if (params.length !== this.size || grads.length !== this.size) {
      throw new RangeError(
        `${this.name}: step expects params and grads of length ${this.size}, got ${params.length} and ${grads.length}`,
      )
    }
  }
}
