import type { Floats } from '../backend/types.js'

/**
 * Public types of the optimizers. Option names are PyTorch's own (`torch.optim.*` keyword
 * arguments) so configs and reference fixtures map one-to-one.
 */

export type OptimizerName = 'adam' | 'adamw' | 'sgd' | 'rmsprop' | 'adagrad'

/** What callers pass; every option except `lr` falls back to PyTorch's default for that optimizer. */
export interface OptimizerOptions {
  lr: number
  betas?: [number, number]
  eps?: number
  weight_decay?: number
  momentum?: number
  dampening?: number
  nesterov?: boolean
  alpha?: number
  centered?: boolean
  lr_decay?: number
  initial_accumulator_value?: number
  amsgrad?: boolean
  /** PyTorch's `maximize`: ascend instead of descend (the gradient is negated first). */
  maximize?: boolean
}

/** Adam and AdamW (torch.optim.Adam / AdamW). */
export interface AdamOptionsResolved {
  lr: number
  betas: readonly [number, number]
  eps: number
  weight_decay: number
  amsgrad: boolean
  maximize: boolean
}

export interface SgdOptionsResolved {
  lr: number
  momentum: number
  dampening: number
  nesterov: boolean
  weight_decay: number
  maximize: boolean
}

export interface RmspropOptionsResolved {
  lr: number
  alpha: number
  eps: number
  weight_decay: number
  momentum: number
  centered: boolean
  maximize: boolean
}

export interface AdagradOptionsResolved {
  lr: number
  lr_decay: number
  weight_decay: number
  initial_accumulator_value: number
  eps: number
  maximize: boolean
}

/** Options with defaults filled in; only the keys that apply to the optimizer are present. */
export type ResolvedOptimizerOptions =
  | AdamOptionsResolved
  | SgdOptionsResolved
  | RmspropOptionsResolved
  | AdagradOptionsResolved

/**
 * Everything needed to continue a run exactly: the step count and the per-parameter buffers,
 * named as in PyTorch's optimizer `state` (`exp_avg`, `exp_avg_sq`, `max_exp_avg_sq`,
 * `momentum_buffer`, `square_avg`, `grad_avg`, `sum`). Each buffer has the optimizer's `size`.
 */
export interface OptimizerState {
  step: number
  buffers: Record<string, Floats>
}

/** Optimizer over one flat parameter vector and its matching flat gradient vector. */
export interface Optimizer {
  readonly name: OptimizerName
  /** Number of parameters (length of `params` and `grads` passed to `step`). */
  readonly size: number
  readonly options: Readonly<ResolvedOptimizerOptions>
  /** Number of `step` calls so far (PyTorch's `state['step']`). */
  readonly stepCount: number
  /** Update `params` in place from `grads`. Allocation-free. */
  step(params: Floats, grads: Floats): void
  /** Deep copy of the state (later steps do not change the returned buffers). */
  getState(): OptimizerState
  /** Copy `s` into this optimizer; buffer names and lengths must match exactly. */
  setState(s: OptimizerState): void
  /**
   * What a PyTorch lr scheduler writes into `param_groups` between steps: the learning rate and,
   * for momentum cycling, SGD/RMSprop's `momentum` or Adam's `betas[0]` (ignored by the others).
   */
  setHyperparameters(h: ScheduledHyperparameters): void
}

export interface ScheduledHyperparameters {
  lr: number
  momentum?: number
}
