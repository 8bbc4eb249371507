/**
 * Learning-rate schedules as torch.optim.lr_scheduler defines them: class names and keyword
 * arguments are PyTorch's own, so a job's `training.lr_scheduler` and a reference file's
 * cases map one-to-one. Omitted options take PyTorch's defaults.
 */

export const SCHEDULER_NAMES = ['StepLR', 'MultiStepLR', 'ExponentialLR', 'CosineAnnealingLR', 'OneCycleLR', 'ReduceLROnPlateau'] as const
export type SchedulerName = (typeof SCHEDULER_NAMES)[number]

export interface StepLROptions { step_size: number; gamma?: number }
export interface MultiStepLROptions { milestones: number[]; gamma?: number }
export interface ExponentialLROptions { gamma: number }
export interface CosineAnnealingLROptions { T_max: number; eta_min?: number }
export interface OneCycleLROptions {
  max_lr: number
  /** Defaults (in a job) to every step the job takes; PyTorch also accepts epochs x steps_per_epoch. */
  total_steps?: number
  epochs?: number
  steps_per_epoch?: number
  pct_start?: number
  anneal_strategy?: 'cos' | 'linear'
  cycle_momentum?: boolean
  base_momentum?: number
  max_momentum?: number
  div_factor?: number
  final_div_factor?: number
  three_phase?: boolean
}
export interface ReduceLROnPlateauOptions {
  mode?: 'min' | 'max'
  factor?: number
  patience?: number
  threshold?: number
  threshold_mode?: 'rel' | 'abs'
  cooldown?: number
  min_lr?: number
  eps?: number
}

export type SchedulerOptions = {
  StepLR: StepLROptions
  MultiStepLR: MultiStepLROptions
  ExponentialLR: ExponentialLROptions
  CosineAnnealingLR: CosineAnnealingLROptions
  OneCycleLR: OneCycleLROptions
  ReduceLROnPlateau: ReduceLROnPlateauOptions
}

/** What the optimizer offers a momentum-cycling schedule: SGD/RMSprop `momentum`, Adam's `betas[0]`, or nothing. */
export type MomentumKind = 'momentum' | 'beta1' | null

/** The scheduler's view of the optimizer it drives. */
export interface OptimizerHandle {
  /** The optimizer's own learning rate (PyTorch's `group['lr']` at construction). */
  lr: number
  kind: MomentumKind
  /** Current momentum or beta1 (0 for SGD without momentum). */
  momentum: number
}

/** JSON-serialisable state; restoring it continues the schedule exactly. */
export type SchedulerState = Record<string, number | null>

export interface LrScheduler {
  readonly name: SchedulerName
  /** Learning rate in effect for the next optimizer step. */
  readonly lr: number
  /** Momentum (or beta1) in effect for the next step when the schedule sets it, else null. */
  readonly momentum: number | null
  /** Whether `step` needs the monitored value (ReduceLROnPlateau). */
  readonly needsMetric: boolean
  /** PyTorch's `scheduler.step()` (`step(metric)` for ReduceLROnPlateau). */
  step(metric?: number): void
  getState(): SchedulerState
  setState(state: SchedulerState): void
}

/** A schedule that PyTorch would refuse to build; the message names the option and what to change. */
export class SchedulerOptionError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SchedulerOptionError'
  }
}
