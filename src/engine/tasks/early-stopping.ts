/**
 * Early stopping as Keras' `EarlyStopping` callback: after every epoch the monitored value is
 * compared with the best so far; an improvement by more than `min_delta` resets the wait,
 * otherwise training stops once `patience` epochs have passed without one. With
 * `restore_best` the weights of the best epoch are kept and become the served model (also,
 * unlike Keras, when training reaches its epoch limit without stopping).
 */

export interface EarlyStoppingSpec {
  /** `loss`, `val_loss` or a metric (`accuracy`, `val_rmse`, ...). */
  monitor: string
  mode: 'min' | 'max'
  patience: number
  min_delta: number
  restore_best: boolean
}

/** Everything a resumed run needs to continue exactly (the best weights travel separately). */
export interface EarlyStoppingState {
  wait: number
  /** null before the first epoch (Keras' +/-inf). */
  best: number | null
  bestEpoch: number
  stoppedEpoch: number
}

export class EarlyStopping {
  private wait = 0
  private best: number
  private bestEpoch = 0
  private stoppedEpoch = 0
  /** Weights of the best epoch (restore_best only). */
  bestParams: Float64Array | null = null

  constructor(readonly spec: EarlyStoppingSpec) {
    this.best = this.worst
  }

  private get worst(): number {
    return this.spec.mode === 'min' ? Infinity : -Infinity
  }

  get stopped(): boolean {
    return this.stoppedEpoch > 0
  }

  /** 1-based epoch training stopped after; 0 while it goes on. */
  get stoppedAt(): number {
    return this.stoppedEpoch
  }

  /** 1-based epoch of the best monitored value so far (0 before the first). */
  get bestAt(): number {
    return this.bestEpoch
  }

  private isImprovement(value: number, reference: number): boolean {
    const delta = Math.abs(this.spec.min_delta)
    return this.spec.mode === 'min' ? value + delta < reference : value - delta > reference
  }

  /**
   * Records epoch `epoch` (1-based) with the monitored `value` and the weights after it.
   * Returns true when training should stop here.
   */
  update(epoch: number, value: number, params: ArrayLike<number>): boolean {
    if (this.spec.restore_best && this.bestParams === null) this.bestParams = Float64Array.from(params)
    this.wait++
    if (this.isImprovement(value, this.best)) {
      this.best = value
      this.bestEpoch = epoch
      if (this.spec.restore_best) this.bestParams!.set(params)
      this.wait = 0
      return false
    }
    // Keras counts epochs from 0 and never stops after its first one.
    if (this.wait >= this.spec.patience && epoch > 1) {
      this.stoppedEpoch = epoch
      return true
    }
    return false
  }

  getState(): EarlyStoppingState {
    return { wait: this.wait, best: Number.isFinite(this.best) ? this.best : null, bestEpoch: this.bestEpoch, stoppedEpoch: this.stoppedEpoch }
  }

  setState(state: EarlyStoppingState, bestParams: ArrayLike<number> | null): void {
    this.wait = state.wait
    this.best = state.best ?? this.worst
    this.bestEpoch = state.bestEpoch
    this.stoppedEpoch = state.stoppedEpoch
    this.bestParams = bestParams ? Float64Array.from(bestParams) : null
  }
}
