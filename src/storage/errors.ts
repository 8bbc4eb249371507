/**
 * Typed storage errors. Each carries a stable `code` so the HTTP layer can map
 * it to a status (e.g. InvalidCursorError -> 400) without parsing messages.
 */
export class StorageError extends Error {
  readonly code: string

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
    this.code = code
  }
}

/** A pagination cursor that this storage did not produce (tampered, truncated, foreign). */
export class InvalidCursorError extends StorageError {
  constructor(cursor: string) {
    super('invalid_cursor', `Invalid pagination cursor ${JSON.stringify(cursor)}: pass the nextCursor value of a previous page unchanged`)
  }
}

/** `create` was given an idempotency key that another job already holds. */
export class DuplicateIdempotencyKeyError extends StorageError {
  readonly idempotencyKey: string

  constructor(idempotencyKey: string) {
    super('idempotency_key_exists', `A job with idempotency key ${JSON.stringify(idempotencyKey)} already exists`)
    this.idempotencyKey = idempotencyKey
  }
}

/** `createOrFind` with `maxQueued`: the queue already holds that many jobs. */
export class QueueFullError extends StorageError {
  readonly queued: number
  readonly maxQueued: number

  constructor(queued: number, maxQueued: number) {
    super('queue_full', `The job queue is full (${queued} jobs queued, at most ${maxQueued})`)
    this.queued = queued
    this.maxQueued = maxQueued
  }
}

/** A migration file failed; its transaction was rolled back. */
export class MigrationError extends StorageError {
  readonly file: string

  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super('migration_failed', message, options)
    this.file = file
  }
}

/** The migrations folder itself is malformed (bad names, duplicate numbers, gaps filled late). */
export class MigrationsDirectoryError extends StorageError {
  constructor(message: string) {
    super('migrations_invalid', message)
  }
}

/** The database was migrated by a newer seqserve than the one running now. */
export class DatabaseNewerThanCodeError extends StorageError {
  readonly databaseVersion: number
  readonly codeVersion: number

  constructor(databaseVersion: number, databaseMigrationName: string | null, codeVersion: number) {
    const applied = databaseMigrationName === null ? `${databaseVersion}` : `${databaseVersion} (${databaseMigrationName})`
    super(
      'database_newer_than_code',
      `The database is at schema version ${applied}, but this seqserve only knows migrations up to version ${codeVersion}. ` +
        'It was written by a newer seqserve: upgrade seqserve to that version (or newer) instead of downgrading, ' +
        'or point DATABASE_PATH at a different database.',
    )
    this.databaseVersion = databaseVersion
    this.codeVersion = codeVersion
  }
}

/**
 * Storage faults: the database itself cannot take the operation right now, whatever the
 * request was. Both dialects raise these instead of their native errors (SQLite result
 * codes, PostgreSQL SQLSTATEs), so callers decide by type: the API answers 507/503 with
 * Retry-After, and the job runner keeps a job's work to retry it instead of failing it.
 * `message` is for API clients; `problem` and `advice` are for operators (readiness, logs).
 */
export abstract class StorageFaultError extends StorageError {
  /** What the database said (`SQLITE_FULL`, `SQLSTATE 53100`, `ECONNREFUSED`), for logs. */
  readonly nativeCode: string | undefined
  /** What is wrong, e.g. "the disk holding the database is full (SQLITE_FULL)". */
  readonly problem: string
  /** What an operator does about it. */
  readonly advice: string

  constructor(code: 'storage_full' | 'storage_unavailable', problem: string, advice: string, nativeCode: string | undefined, options?: { cause?: unknown }) {
    const described = nativeCode ? `${problem} (${nativeCode})` : problem
    super(code, `The database cannot take this request: ${described}. Nothing was written; retry later`, options)
    this.nativeCode = nativeCode
    this.problem = described
    this.advice = advice
  }
}

/** The disk holding the database is full: nothing was written. Writes work again once space is freed. */
export class StorageFullError extends StorageFaultError {
  constructor(nativeCode: string | undefined, options?: { cause?: unknown }) {
    super('storage_full', 'the disk holding the database is full', 'Free space on that volume (or grow it); writes are accepted again without a restart, and running jobs waiting to save their progress resume by themselves (they fail with storage_full only if it takes longer than STORAGE_PAUSE_MAX_MS)', nativeCode, options)
  }
}

/** Why the database cannot be used: I/O errors, a damaged file, a read-only file or server, or no connection. */
export type StorageUnavailableReason = 'io_error' | 'corrupt' | 'read_only' | 'unreachable' | 'busy'

const UNAVAILABLE: Record<StorageUnavailableReason, { problem: string; advice: string }> = {
  io_error: { problem: 'the disk holding the database reported an I/O error', advice: 'Check the disk and the volume (kernel log, dmesg), then restart seqserve' },
  corrupt: { problem: 'the database file is damaged', advice: 'Restore it from a backup (or salvage it with `sqlite3 <file> .recover`)' },
  read_only: { problem: 'the database is read-only', advice: 'Mount its volume read-write (SQLite also writes the -wal and -shm files beside it), or point at a primary PostgreSQL server' },
  unreachable: { problem: 'the database server cannot be reached', advice: 'Check that PostgreSQL is running and that DATABASE_URL names it' },
  busy: { problem: 'the database is locked by another process', advice: 'Another process holds its write lock; look for a stuck process using the same file' },
}

/** The database cannot serve the operation for now; `reason` says why. */
export class StorageUnavailableError extends StorageFaultError {
  readonly reason: StorageUnavailableReason

  constructor(reason: StorageUnavailableReason, nativeCode: string | undefined, options?: { cause?: unknown }) {
    super('storage_unavailable', UNAVAILABLE[reason].problem, UNAVAILABLE[reason].advice, nativeCode, options)
    this.reason = reason
  }
}

export function isStorageFault(err: unknown): err is StorageFaultError {
  return err instanceof StorageFaultError
}

/**
 * The database could not be opened at startup. The message is one line naming the path, the
 * problem and what to do, for an operator reading a crash loop.
 */
export class DatabaseOpenError extends StorageError {
  readonly location: string

  constructor(location: string, problem: string, advice: string, options?: { cause?: unknown }) {
    super('database_unusable', `Cannot use the database ${location}: ${problem}. ${advice}`, options)
    this.location = location
  }
}
