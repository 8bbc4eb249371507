import type { Logger } from 'pino'
import type { Storage } from '../storage/storage.js'
import type { JobRecord } from '../storage/types.js'
import type { PersistRetryPolicy, StorageWaitOutcome } from './persist-retry.js'

/** What a JobRunner (runner.ts) is built with, and what it tells its observers. */

export interface JobRunnerOptions {
  storage: Storage
  /**
   * This node's id in leases (NODE_ID); defaults to the hostname. Held exclusively on the
   * database while the runner runs (`Storage.holdNodeId`), so a restart gets it back and
   * takes over at once the jobs its previous incarnation was training.
   */
  node?: string
  /** Worker threads, i.e. jobs trained at once. */
  workers: number
  /** WORKER_NICE: how much lower than the event loop the training threads run. */
  nice?: number
  leaseTtlMs: number
  heartbeatMs: number
  /** How often the queue is polled besides the wake-ups after each submission. */
  pollMs?: number
  maxAttempts?: number
  /**
   * How writes of training progress are tried again (persist-retry.ts): `pauseMaxMs`
   * (STORAGE_PAUSE_MAX_MS) is how long a job waits for a full or unavailable database.
   */
  persistRetries?: Partial<PersistRetryPolicy>
  logger: Logger
  /** Observes lifecycle events (metrics). */
  events?: Partial<JobRunnerEvents>
  /** Workers report progress inside an epoch at most this often (ms); default 2000. */
  progressMs?: number
}

/** Several observers as one (metrics, event-stream wake-ups). */
export function combineRunnerEvents(...observers: Partial<JobRunnerEvents>[]): Partial<JobRunnerEvents> {
  return {
    started: (job, epoch) => observers.forEach((o) => o.started?.(job, epoch)),
    epoch: (jobId, epoch, tokens) => observers.forEach((o) => o.epoch?.(jobId, epoch, tokens)),
    progress: (jobId) => observers.forEach((o) => o.progress?.(jobId)),
    finished: (jobId, outcome) => observers.forEach((o) => o.finished?.(jobId, outcome)),
    storageWait: (jobId, state) => observers.forEach((o) => o.storageWait?.(jobId, state)),
  }
}

export interface JobRunnerEvents {
  started(job: JobRecord, resumedFromEpoch: number): void
  /** `tokens`: target values trained on in the epoch (characters, series values or labels). */
  epoch(jobId: string, epoch: number, tokens: number): void
  /** Progress inside an epoch was stored. */
  progress?(jobId: string): void
  finished(jobId: string, status: 'succeeded' | 'failed' | 'cancelled' | 'requeued'): void
  /** A job began waiting for a full or unavailable database, or the wait ended. */
  storageWait?(jobId: string, state: 'waiting' | StorageWaitOutcome): void
}
