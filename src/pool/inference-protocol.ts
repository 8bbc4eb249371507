import type { GenerateOptions } from '../engine/tasks/predictor.js'

/** The rows of one batch, by task: inputs are validated on the main thread before they get here. */
export type InferenceRows =
  | { kind: 'pairs'; inputs: string[] }
  | { kind: 'classes'; inputs: string[] }
  | { kind: 'text'; prompts: string[]; options: GenerateOptions[] }
  | { kind: 'series'; histories: number[][][]; horizons: number[] }

/** What a batch computed, row for row. */
export type InferenceOutputs =
  | { kind: 'pairs'; outputs: string[] }
  | { kind: 'text'; outputs: string[] }
  | { kind: 'classes'; probabilities: Float64Array[] }
  | { kind: 'series'; forecasts: number[][][] }

export interface InferenceTask {
  id: number
  jobId: string
  rows: InferenceRows
  /** Date.now() after which the worker stops between steps (shared clock of all threads). */
  deadline: number
  /** The final checkpoint, sent only after the worker said it does not hold the model. */
  checkpoint: Uint8Array | null
}

export interface InferenceWorkerOptions {
  /** This worker's share of MODEL_CACHE_BYTES. */
  cacheBytes: number
  /** Deprecated MODEL_CACHE_SIZE share, or Infinity. */
  cacheModels: number
  /** PREDICT_WORKER_NICE: how much lower than the event loop this thread runs. */
  nice?: number
}

export type ToInferenceWorker =
  | { type: 'run'; task: InferenceTask }
  | { type: 'evict'; jobId: string }

export type FromInferenceWorker =
  | { type: 'ready' }
  | { type: 'done'; id: number; outputs: InferenceOutputs; cacheBytes: number; cachedModels: number }
  | { type: 'missing'; id: number }
  | { type: 'stopped'; id: number }
  | { type: 'failed'; id: number; message: string }
