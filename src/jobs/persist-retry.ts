import type { Logger } from 'pino'
import { HOLD_OFF, HOLD_ON } from '../pool/protocol.js'
import { StorageFullError, StorageUnavailableError, type StorageFaultError } from '../storage/errors.js'
import { PersistError, classifyPersistError, type PersistContext } from './persist-failure.js'

/** How writes of training progress are tried again. */
export interface PersistRetryPolicy {
  /** A failure that may pass (not a full or unavailable database): tried this often in all... */
  attempts: number
  /** ...waiting this long after the first try, then twice that, and so on. */
  baseDelayMs: number
  /**
   * STORAGE_PAUSE_MAX_MS: how long a job waits for a full or unavailable database to take
   * its writes again before it fails; 0 = it does not wait (it gets the tries above).
   */
  pauseMaxMs: number
  /** Longest pause between two tries while a job waits for its database. */
  maxDelayMs: number
}

export const DEFAULT_PERSIST_RETRY: PersistRetryPolicy = { attempts: 5, baseDelayMs: 250, pauseMaxMs: 15 * 60_000, maxDelayMs: 5000 }

/** What a job waiting for its database shows (GET /jobs/{id} `storage_wait`). */
export interface StorageWait {
  /** When the first write failed (ms since the epoch). */
  since: number
  code: 'storage_full' | 'storage_unavailable'
  /** What is wrong, e.g. "the disk holding the database is full (SQLITE_FULL)". */
  problem: string
  /** What an operator does about it. */
  advice: string
  /** What the job is waiting to save, e.g. "loss of epoch 12". */
  pending: string
  /** When the job fails if the database still refuses (since + STORAGE_PAUSE_MAX_MS). */
  failsAt: number
  /** Writes tried so far in this wait. */
  tries: number
}

/** How a wait for the database ended: the write went through, the job gave up (or met another error), or the runner stopped. */
export type StorageWaitOutcome = 'resumed' | 'failed' | 'abandoned'

/**
 * The runner is shutting down while the job waits for its database: nothing more is written
 * for it here. Its lease lapses (or the node's next start takes it back at once) and it
 * resumes from its last saved checkpoint, training the unsaved epochs again.
 */
export class PersistAbandoned extends Error {
  constructor(what: string) {
    super(`shutting down while waiting for the database to take the ${what}`)
    this.name = 'PersistAbandoned'
  }
}

/** A job as the retries see it: its log, where it stands, its wait and its worker's hold flag. */
export interface RetriedJob {
  id: string
  log: Logger
  epoch: number
  storageWait: StorageWait | null
  holdFlag: Int32Array
}

export interface PersistRetryHooks {
  /** True once waits must end without writing (the runner is stopping). */
  abandoning(): boolean
  /** A job began or ended waiting for its database (metrics). */
  waitChanged?(jobId: string, outcome: 'waiting' | StorageWaitOutcome): void
}

/**
 * Faults that pass without a restart: a disk that gets space back, a volume remounted
 * read-write, an I/O error that clears, a database server that comes back. A damaged file
 * does not mend itself, so it is not waited for.
 */
export function waitable(err: unknown): err is StorageFaultError {
  return err instanceof StorageFullError || (err instanceof StorageUnavailableError && err.reason !== 'corrupt')
}

/** A log line per try while the pauses grow, then one a minute. */
const WAIT_LOG_EVERY_MS = 60_000

/**
 * Writes training progress (losses, checkpoints, statuses), trying again when it fails.
 * While the database is full or unavailable, the job waits for it: its worker holds at the
 * next epoch boundary (so unsaved work cannot pile up), the write is tried again with pauses
 * growing from `baseDelayMs` to `maxDelayMs`, and it goes through as soon as the database
 * takes it, so nothing is lost or written twice. After STORAGE_PAUSE_MAX_MS the job fails
 * (storage_full / storage_error). Other failures get `attempts` tries.
 */
export class PersistRetrier {
  /** Pauses of waits for the database in progress: a shutdown ends them at once. */
  private readonly sleepers = new Set<() => void>()

  constructor(private readonly policy: PersistRetryPolicy, private readonly hooks: PersistRetryHooks) {}

  /** Ends every pause between tries now (the runner is stopping). */
  interrupt(): void {
    for (const wake of [...this.sleepers]) wake()
  }

  /**
   * `write`, tried until it goes through; throws PersistError when it cannot (a value too big
   * for the database, or still failing after its tries or STORAGE_PAUSE_MAX_MS), and
   * PersistAbandoned when the runner stops during a wait. `wait: false`: no waiting for the
   * database (recording that a job failed after its wait).
   */
  async write<T>(job: RetriedJob, context: PersistContext, write: () => Promise<T>, options: { wait?: boolean } = {}): Promise<T> {
    const { attempts, baseDelayMs, pauseMaxMs, maxDelayMs } = this.policy
    const mayWait = options.wait !== false && pauseMaxMs > 0
    let loggedAt = 0
    for (let attempt = 1; ; attempt++) {
      let err: unknown
      try {
        const result = await write()
        if (job.storageWait) this.endWait(job, 'resumed')
        return result
      } catch (caught) {
        err = caught
      }
      const failure = classifyPersistError(err, context)
      const delayMs = Math.min(baseDelayMs * 2 ** (attempt - 1), maxDelayMs)
      if (!failure.retryable || !mayWait || !waitable(err)) {
        if (job.storageWait) this.endWait(job, 'failed')
        if (!failure.retryable || attempt >= attempts) throw new PersistError(failure, err)
        job.log.warn({ err, epoch: job.epoch, code: failure.code, try: attempt, delayMs }, `could not save the ${context.what}; trying again`)
        await new Promise((resolve) => setTimeout(resolve, delayMs))
        continue
      }
      const now = Date.now()
      const wait = this.waitFor(job, err, context, now)
      if (this.hooks.abandoning()) {
        this.endWait(job, 'abandoned')
        throw new PersistAbandoned(context.what)
      }
      if (now >= wait.failsAt) {
        this.endWait(job, 'failed')
        throw new PersistError(classifyPersistError(err, { ...context, waited: { ms: now - wait.since, maxMs: pauseMaxMs } }), err)
      }
      if (delayMs < maxDelayMs || now - loggedAt >= WAIT_LOG_EVERY_MS) {
        loggedAt = now
        job.log.warn({ err, epoch: job.epoch, code: failure.code, try: attempt, delayMs, failsAt: new Date(wait.failsAt).toISOString() },
          `could not save the ${context.what}; waiting for the database (${wait.problem}), trying again`)
      }
      await this.sleep(Math.min(delayMs, wait.failsAt - now))
    }
  }

  /** The job's wait, begun now if it was not waiting: its worker holds at the next epoch boundary. */
  private waitFor(job: RetriedJob, fault: StorageFaultError, context: PersistContext, now: number): StorageWait {
    const code = fault instanceof StorageFullError ? 'storage_full' : 'storage_unavailable'
    const seen = { code, problem: fault.problem, advice: fault.advice, pending: context.what } as const
    if (job.storageWait) {
      Object.assign(job.storageWait, seen)
      job.storageWait.tries++
      return job.storageWait
    }
    const wait: StorageWait = { since: now, failsAt: now + this.policy.pauseMaxMs, tries: 1, ...seen }
    job.storageWait = wait
    Atomics.store(job.holdFlag, 0, HOLD_ON)
    job.log.warn({ epoch: job.epoch, code, problem: wait.problem, failsAt: new Date(wait.failsAt).toISOString() },
      `waiting for the database to take the ${context.what}: ${wait.problem}. The job keeps what it has not saved and resumes by itself ` +
      `once writes work again; it fails if they do not within STORAGE_PAUSE_MAX_MS=${this.policy.pauseMaxMs}. ${wait.advice}`)
    this.hooks.waitChanged?.(job.id, 'waiting')
    return wait
  }

  private endWait(job: RetriedJob, outcome: StorageWaitOutcome): void {
    const wait = job.storageWait
    if (!wait) return
    job.storageWait = null
    Atomics.store(job.holdFlag, 0, HOLD_OFF)
    Atomics.notify(job.holdFlag, 0)
    const waitedMs = Date.now() - wait.since
    if (outcome === 'resumed') job.log.info({ epoch: job.epoch, waitedMs, tries: wait.tries }, `the database takes writes again: saved the ${wait.pending}; training goes on`)
    this.hooks.waitChanged?.(job.id, outcome)
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.sleepers.delete(done)
        resolve()
      }
      const timer = setTimeout(done, Math.max(0, ms))
      this.sleepers.add(done)
    })
  }
}
