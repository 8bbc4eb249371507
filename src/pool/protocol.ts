import type { MessagePort } from 'node:worker_threads'
import type { JobSpec } from '../engine/tasks/spec.js'

/** Values of the shared stop flag the main thread sets for a running job. */
export const STOP_NONE = 0
export const STOP_CANCEL = 1
export const STOP_SHUTDOWN = 2

/** Values of the shared hold flag: while HOLD_ON, the worker waits at its next epoch boundary. */
export const HOLD_OFF = 0
export const HOLD_ON = 1

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
  /** Report `progress` at most this often (ms); default 2000. */
  progressMs?: number
  /** Int32Array(1) over a SharedArrayBuffer: STOP_* requested by the main thread. */
  stopFlag: Int32Array
  /**
   * Int32Array(1) over a SharedArrayBuffer: HOLD_ON while the main thread cannot save what
   * the job already reported (the database is full or unavailable). The worker then waits
   * at its next epoch boundary, so unsaved epochs and checkpoints cannot pile up in memory;
   * the main thread notifies it when it clears the flag or sets the stop flag.
   */
  holdFlag?: Int32Array
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
  /** Batch `batch` of `batches` of `epoch` done (batch = batches: the epoch just reported); tokens per second so far in it. */
  | { type: 'progress'; epoch: number; batch: number; batches: number; tokensPerSecond: number | null; at: number }
  | { type: 'finished'; outcome: 'succeeded' }
  | { type: 'finished'; outcome: 'stopped'; reason: 'cancel' | 'shutdown' }
  | { type: 'finished'; outcome: 'failed'; code: 'nan_loss' | 'max_runtime_exceeded' | 'training_error' | 'invalid_data'; message: string }
