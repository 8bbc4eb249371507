import type { MessagePort } from 'node:worker_threads'
import type { JobSpec } from '../engine/tasks/spec.js'

/** Values of the shared stop flag the main thread sets for a running job. */
export const STOP_NONE = 0
export const STOP_CANCEL = 1
export const STOP_SHUTDOWN = 2

/** What every training thread is started with. */
export interface TrainingWorkerData {
  /** WORKER_NICE */
  nice: number
}

export interface TrainingTask {
  jobId: string
  attempt: number
  spec: JobSpec
  /** Encoded checkpoint to resume from, or null for a fresh start. */
  checkpoint: Uint8Array | null
  /** training.init_from: the encoded final checkpoint of the model version a fresh start begins from. */
  init?: Uint8Array | null
  /** Int32Array(1) over a SharedArrayBuffer: STOP_* requested by the main thread. */
  stopFlag: Int32Array
  port: MessagePort
}

/** Messages a training worker posts, in order, on the task's port. */
export type WorkerMessage =
  | { type: 'started'; epoch: number }
  | {
    type: 'epoch'; epoch: number; loss: number; valLoss: number | null; bestLoss: number | null; tokens: number; at: number; elapsedMs: number
    metrics: Record<string, number>; lr: number; stoppedEarly: boolean
  }
  | { type: 'checkpoint'; epoch: number; final: boolean; blob: Uint8Array }
  | { type: 'finished'; outcome: 'succeeded' }
  | { type: 'finished'; outcome: 'stopped'; reason: 'cancel' | 'shutdown' }
  | { type: 'finished'; outcome: 'failed'; code: 'nan_loss' | 'max_runtime_exceeded' | 'training_error' | 'invalid_data'; message: string }
