/**
 * The epoch-count schedules in PyTorch's chainable form: each step derives the new learning
 * rate from the current one (`group['lr'] * gamma`, ...), exactly as `get_lr()` does, so the
 * rounding matches PyTorch's bit for bit instead of a closed form's.
 */
import type { OptionReader } from './option-reader.js'
import type { LrScheduler, SchedulerName, SchedulerState } from './types.js'

/** lr for epoch `epoch` given the lr of the epoch before it (at epoch 0: the optimizer's lr). */
type Rule = (epoch: number, lr: number) => number

class ChainableScheduler implements LrScheduler {
  readonly momentum = null
  readonly needsMetric = false
  private lastEpoch = 0
  private current: number

  constructor(readonly name: SchedulerName, baseLr: number, private readonly rule: Rule) {
    // PyTorch's constructor already steps once, from last_epoch -1 to 0.
    this.current = rule(0, baseLr)
  }

  get lr(): number {
    return this.current
  }

  step(): void {
    this.lastEpoch++
    this.current = this.rule(this.lastEpoch, this.current)
  }

  getState(): SchedulerState {
    return { last_epoch: this.lastEpoch, lr: this.current }
  }

  setState(state: SchedulerState): void {
    this.lastEpoch = state.last_epoch as number
    this.current = state.lr as number
  }
}

export function stepLR(o: OptionReader, baseLr: number): LrScheduler {
  const stepSize = o.positiveInteger('step_size')
  const gamma = o.number('gamma', 0.1)
  o.done()
  return new ChainableScheduler('StepLR', baseLr, (e, lr) => (e === 0 || e % stepSize !== 0 ? lr : lr * gamma))
}

export function multiStepLR(o: OptionReader, baseLr: number): LrScheduler {
  // A Counter, as in PyTorch: a milestone listed twice multiplies by gamma twice.
  const counts = new Map<number, number>()
  for (const m of o.integerList('milestones')) counts.set(m, (counts.get(m) ?? 0) + 1)
  const gamma = o.number('gamma', 0.1)
  o.done()
  return new ChainableScheduler('MultiStepLR', baseLr, (e, lr) => {
    const n = counts.get(e)
    return n === undefined ? lr : lr * gamma ** n
  })
}

export function exponentialLR(o: OptionReader, baseLr: number): LrScheduler {
  const gamma = o.number('gamma', undefined)
  o.done()
  return new ChainableScheduler('ExponentialLR', baseLr, (e, lr) => (e === 0 ? lr : lr * gamma))
}

export function cosineAnnealingLR(o: OptionReader, baseLr: number): LrScheduler {
  const T = o.number('T_max', undefined, (v) => v > 0, 'must be > 0')
  const etaMin = o.number('eta_min', 0)
  o.done()
  return new ChainableScheduler('CosineAnnealingLR', baseLr, (e, lr) => {
    if (e === 0) return lr
    // Restarting a period: cos(pi (e-1)/T) = -1 would divide by zero below.
    if ((e - 1 - T) % (2 * T) === 0) return lr + (baseLr - etaMin) * (1 - Math.cos(Math.PI / T)) / 2
    return (1 + Math.cos(Math.PI * e / T)) / (1 + Math.cos(Math.PI * (e - 1) / T)) * (lr - etaMin) + etaMin
  })
}
