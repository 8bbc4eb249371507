/**
 * The training job as the engine receives it: every field present (the HTTP layer fills
 * defaults). Field names follow PyTorch's vocabulary in snake_case, as in the public API.
 */
import type { Dtype, KernelSetName } from '../backend/types.js'
import type { OptimizerName } from '../optimizers.js'
import type { LrSchedulerSpec } from '../schedulers/training-schedule.js'
import type { EarlyStoppingSpec } from './early-stopping.js'

export type ModelType = 'rnn' | 'lstm' | 'gru'

export interface ModelSpec {
  type: ModelType
  hidden_size: number
  num_layers: number
  bidirectional: boolean
  dropout: number
  /** RNN only. */
  nonlinearity: 'tanh' | 'relu'
  /** LSTM only; 0 = no projection. */
  proj_size: number
  /**
   * Precision of the weights and of every computation. Absent in jobs submitted before it
   * existed: those ran, and resume, in float64. The HTTP layer fills DEFAULT_DTYPE.
   */
  dtype?: Dtype
  /**
   * Kernel set, fixed at submission: set when asked for, or to "js" when the job's working
   * memory would not fit a WebAssembly memory (tasks/training-memory.ts). Absent: the worker's
   * default kernel set, recorded in the first checkpoint.
   */
  kernels?: KernelSetName
}

export interface PairsData { type: 'pairs'; pairs: { input: string; target: string }[] }
export interface TextData { type: 'text'; text: string; seq_len: number }
export interface SeriesData { type: 'series'; series: number[] | number[][]; window: number; horizon: number }
export interface ClassesData { type: 'classes'; examples: { input: string; label: string }[] }
export type DataSpec = PairsData | TextData | SeriesData | ClassesData
export type TaskKind = DataSpec['type']

export interface TrainingSpec {
  epochs: number
  optimizer: OptimizerName
  learning_rate: number
  batch_size: number
  seed: number
  clip_grad_norm: number | null
  validation_split: number
  checkpoint_every: number
  max_runtime_seconds: number
  /** The tutorial's trick: the final state of epoch k (detached) starts epoch k+1. Disables shuffling. */
  carry_hidden: boolean
  shuffle: boolean
  weight_decay: number
  momentum: number
  /** torch.optim.lr_scheduler; absent = constant learning rate. */
  lr_scheduler?: LrSchedulerSpec
  /** Keras-style early stopping; monitor and mode are filled from the task when omitted. */
  early_stopping?: Omit<EarlyStoppingSpec, 'monitor' | 'mode'> & Partial<Pick<EarlyStoppingSpec, 'monitor' | 'mode'>>
  /**
   * Fine-tuning: start from the weights of a model version instead of the seeded init. A
   * request may name it `"name"`, `"name@alias"` or `{model, version}`; a stored job always
   * holds the resolved `{model, version}` (versions never change, so a resume starts alike).
   */
  init_from?: InitFrom
}

/** A model version to start from: `"name"` (its highest version), `"name@alias"` or a pinned version. */
export type InitFrom = string | ResolvedInitFrom

export interface ResolvedInitFrom {
  model: string
  version: number
}

export interface JobSpec {
  model: ModelSpec
  data: DataSpec
  training: TrainingSpec
}
