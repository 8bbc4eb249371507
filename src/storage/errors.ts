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
