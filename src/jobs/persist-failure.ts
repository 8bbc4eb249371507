import { StorageFullError, isStorageFault } from '../storage/errors.js'

/**
 * Why a write of training progress (losses, a checkpoint, the final status) failed, as the
 * `error.code` a failed job shows, and whether trying again can help.
 */
export interface PersistFailure {
  code: 'checkpoint_too_large' | 'storage_full' | 'storage_error'
  message: string
  /** A full disk or a passing database error may clear up; a value too big for the database never does. */
  retryable: boolean
}

/** What was being written, for the message. */
export interface PersistContext {
  what: string
  /** Size of the checkpoint in the write, if any. */
  checkpointBytes?: number
  /** How long the job waited for the database to take the write (STORAGE_PAUSE_MAX_MS), if it did. */
  waited?: { ms: number; maxMs: number }
}


const MB = 1024 * 1024

export function classifyPersistError(err: unknown, context: PersistContext): PersistFailure {
  const e = err as { code?: unknown; message?: unknown } | null
  // The stores raise typed faults (src/storage/errors.ts); their native code says what the database said.
  const code = isStorageFault(err) ? err.nativeCode ?? err.code : typeof e?.code === 'string' ? e.code : ''
  const text = typeof e?.message === 'string' ? e.message : String(err)
  // better-sqlite3 refuses a value above SQLite's length limit with a RangeError (SQLITE_TOOBIG);
  // PostgreSQL answers 54000 program_limit_exceeded.
  const tooBig = code === 'SQLITE_TOOBIG' || code === '54000' || (err instanceof RangeError && /too big|too large/i.test(text))
  if (tooBig && context.checkpointBytes !== undefined) {
    return {
      code: 'checkpoint_too_large',
      retryable: false,
      message: `the ${context.what} is ${(context.checkpointBytes / MB).toFixed(1)} MiB, more than the database can store (${text}); ` +
        'train a smaller model (hidden_size, num_layers) so its checkpoint fits',
    }
  }
  const waited = context.waited ? `, waited ${Math.round(context.waited.ms / 1000)} s for it (STORAGE_PAUSE_MAX_MS=${context.waited.maxMs})` : ''
  if (err instanceof StorageFullError || code === 'SQLITE_FULL' || code === '53100' || code === 'ENOSPC') {
    return {
      code: 'storage_full',
      retryable: true,
      message: `the database's disk is full: could not save the ${context.what} (${code})${waited}; free disk space, then submit the job again`,
    }
  }
  if (isStorageFault(err)) {
    return {
      code: 'storage_error',
      retryable: true,
      message: `could not save the ${context.what}: ${err.problem}${waited}. ${err.advice}; then submit the job again`,
    }
  }
  return {
    code: 'storage_error',
    retryable: !tooBig,
    message: `could not save the ${context.what}: ${code ? `${code}: ` : ''}${text}; check the server log and the database, then submit the job again`,
  }
}

/** A write that kept failing after its retries. */
export class PersistError extends Error {
  constructor(readonly failure: PersistFailure, readonly original: unknown) {
    super(failure.message, { cause: original })
    this.name = 'PersistError'
  }
}
