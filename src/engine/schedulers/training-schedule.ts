/**
 * A job's `training.lr_scheduler`: the PyTorch scheduler plus when it steps (after every
 * epoch, or after every optimizer step with `step_per: "batch"`) and, for ReduceLROnPlateau,
 * which value it watches. It writes the learning rate (and cycled momentum) into the optimizer
 * before every step, as PyTorch's scheduler writes `param_groups`.
 */
import type { Optimizer, OptimizerName, OptimizerOptions } from '../optimizers.js'
import { createScheduler } from './create.js'
import type { LrScheduler, OptimizerHandle, SchedulerName, SchedulerState } from './types.js'
import { SchedulerOptionError } from './types.js'

export interface LrSchedulerSpec {
  /** PyTorch's class name. */
  type: SchedulerName
  step_per: 'epoch' | 'batch'
  /** ReduceLROnPlateau only: `loss`, `val_loss` or a metric. */
  monitor?: string
  /** The scheduler's keyword arguments, PyTorch's names. */
  [option: string]: unknown
}

/** The optimizer as a scheduler sees it: lr, and what momentum cycling would drive. */
export function optimizerHandle(name: OptimizerName, lr: number, momentum: number): OptimizerHandle {
  if (name === 'sgd' || name === 'rmsprop') return { lr, kind: 'momentum', momentum }
  if (name === 'adam' || name === 'adamw') return { lr, kind: 'beta1', momentum: 0.9 }
  return { lr, kind: null, momentum: 0 }
}

export class TrainingSchedule {
  readonly scheduler: LrScheduler
  readonly perBatch: boolean
  readonly monitor: string | null

  /**
   * `stepsPerEpoch` and `epochs` size OneCycleLR when `total_steps` is omitted (every step
   * the job takes) and refuse a total_steps the job would run past.
   */
  constructor(spec: LrSchedulerSpec, optimizer: OptimizerHandle, stepsPerEpoch: number, epochs: number) {
    const { type, step_per: stepPer, monitor, ...options } = spec
    this.perBatch = stepPer === 'batch'
    const steps = epochs * (this.perBatch ? stepsPerEpoch : 1)
    if (type === 'ReduceLROnPlateau' && this.perBatch) {
      throw new SchedulerOptionError('ReduceLROnPlateau steps once per epoch on the monitored value; set step_per to "epoch" (or omit it)')
    }
    if (type === 'OneCycleLR') {
      if (options.total_steps === undefined) options.total_steps = steps
      else if (typeof options.total_steps === 'number' && options.total_steps < steps) {
        throw new SchedulerOptionError(`OneCycleLR: total_steps (${options.total_steps}) is less than the ${steps} steps this job takes (${epochs} epochs x ${this.perBatch ? `${stepsPerEpoch} batches` : '1 step'}); raise it or omit it`)
      }
    }
    this.scheduler = createScheduler(type, options, optimizer)
    this.monitor = this.scheduler.needsMetric ? (monitor ?? null) : null
    if (this.scheduler.needsMetric && this.monitor === null) throw new SchedulerOptionError(`${type}: monitor is required`)
  }

  /** Options the optimizer is built with, so the schedule can drive it: a momentum buffer (or beta1) to cycle. */
  optimizerOptions(base: OptimizerOptions, name: OptimizerName): OptimizerOptions {
    const m = this.scheduler.momentum
    const out: OptimizerOptions = { ...base, lr: this.scheduler.lr }
    if (m === null) return out
    if (name === 'adam' || name === 'adamw') out.betas = [m, 0.999]
    else out.momentum = m
    return out
  }

  get lr(): number {
    return this.scheduler.lr
  }

  /** Before each optimizer step. */
  apply(optimizer: Optimizer): void {
    const m = this.scheduler.momentum
    optimizer.setHyperparameters(m === null ? { lr: this.scheduler.lr } : { lr: this.scheduler.lr, momentum: m })
  }

  afterBatch(): void {
    if (this.perBatch) this.scheduler.step()
  }

  /** After each epoch, with the epoch's loss and metrics (`val_` prefixed for validation). */
  afterEpoch(logs: Readonly<Record<string, number>>): void {
    if (this.perBatch) return
    if (this.monitor === null) return this.scheduler.step()
    const value = logs[this.monitor]
    if (value === undefined) throw new RangeError(`the schedule monitors ${this.monitor}, which this epoch did not report`)
    this.scheduler.step(value)
  }

  getState(): SchedulerState {
    return this.scheduler.getState()
  }

  setState(state: SchedulerState): void {
    this.scheduler.setState(state)
  }
}
