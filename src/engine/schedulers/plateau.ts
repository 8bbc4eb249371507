/**
 * torch.optim.lr_scheduler.ReduceLROnPlateau: multiplies the learning rate by `factor` once the
 * monitored value has not improved (by `threshold`, relative or absolute) for more than
 * `patience` steps, then waits `cooldown` steps; never below `min_lr`, and a change smaller
 * than `eps` is skipped.
 */
import type { OptionReader } from './option-reader.js'
import type { LrScheduler, SchedulerState } from './types.js'

export class ReduceLROnPlateau implements LrScheduler {
  readonly name = 'ReduceLROnPlateau'
  readonly momentum = null
  readonly needsMetric = true
  readonly mode: 'min' | 'max'
  private readonly factor: number
  private readonly patience: number
  private readonly threshold: number
  private readonly thresholdMode: 'rel' | 'abs'
  private readonly cooldown: number
  private readonly minLr: number
  private readonly eps: number
  private readonly modeWorse: number
  private current: number
  private best: number
  private numBadEpochs = 0
  private cooldownCounter = 0
  private lastEpoch = 0

  constructor(o: OptionReader, baseLr: number) {
    this.mode = o.choice('mode', ['min', 'max'] as const, 'min')
    this.factor = o.number('factor', 0.1, (v) => v < 1, 'must be < 1.0')
    this.patience = o.nonNegativeInteger('patience', 10)
    this.threshold = o.number('threshold', 1e-4)
    this.thresholdMode = o.choice('threshold_mode', ['rel', 'abs'] as const, 'rel')
    this.cooldown = o.nonNegativeInteger('cooldown', 0)
    this.minLr = o.number('min_lr', 0, (v) => v >= 0, 'must be >= 0')
    this.eps = o.number('eps', 1e-8, (v) => v >= 0, 'must be >= 0')
    o.done()
    this.modeWorse = this.mode === 'min' ? Infinity : -Infinity
    this.best = this.modeWorse
    this.current = baseLr
  }

  get lr(): number {
    return this.current
  }

  private isBetter(a: number, best: number): boolean {
    if (this.mode === 'min' && this.thresholdMode === 'rel') return a < best * (1 - this.threshold)
    if (this.mode === 'min') return a < best - this.threshold
    if (this.thresholdMode === 'rel') return a > best * (this.threshold + 1)
    return a > best + this.threshold
  }

  step(metric?: number): void {
    if (metric === undefined) throw new RangeError('ReduceLROnPlateau.step needs the monitored value')
    this.lastEpoch++
    if (this.isBetter(metric, this.best)) {
      this.best = metric
      this.numBadEpochs = 0
    } else {
      this.numBadEpochs++
    }
    if (this.cooldownCounter > 0) {
      this.cooldownCounter--
      this.numBadEpochs = 0
    }
    if (this.numBadEpochs > this.patience) {
      const reduced = Math.max(this.current * this.factor, this.minLr)
      if (this.current - reduced > this.eps) this.current = reduced
      this.cooldownCounter = this.cooldown
      this.numBadEpochs = 0
    }
  }

  getState(): SchedulerState {
    // JSON has no Infinity: the initial "worse than anything" best is stored as null.
    return {
      last_epoch: this.lastEpoch, lr: this.current, best: Number.isFinite(this.best) ? this.best : null,
      num_bad_epochs: this.numBadEpochs, cooldown_counter: this.cooldownCounter,
    }
  }

  setState(state: SchedulerState): void {
    this.lastEpoch = state.last_epoch as number
    this.current = state.lr as number
    this.best = state.best ?? this.modeWorse
    this.numBadEpochs = state.num_bad_epochs as number
    this.cooldownCounter = state.cooldown_counter as number
  }
}
