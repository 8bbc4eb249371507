import fs from 'node:fs'
import path from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { defaultMigrationsDir } from '../migrations.js'
import { runMigrations } from './migrate.js'
import { WAL_SIZE_LIMIT_BYTES } from './wal.js'

export type Database = BetterSqlite3.Database

export interface OpenDatabaseOptions {
  /** File path, or `:memory:` for a private in-memory database. */
  path: string
  /** Defaults to `<package root>/migrations/sqlite`. */
  migrationsDir?: string
  /** Milliseconds a statement waits for another connection's write lock. Default 5000. */
  busyTimeoutMs?: number
}

const IN_MEMORY = ':memory:'

export function openDatabase(options: OpenDatabaseOptions): Database {
  if (options.path !== IN_MEMORY && options.path !== '') {
    fs.mkdirSync(path.dirname(path.resolve(options.path)), { recursive: true })
  }
  const db = new BetterSqlite3(options.path)
  try {
    db.pragma('journal_mode = WAL')
    db.pragma('foreign_keys = ON')
    db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5000)}`)
    // Safe with WAL: a power loss may drop the last commits but never corrupts the file.
    db.pragma('synchronous = NORMAL')
    // After a checkpoint restarts the WAL, the file is cut back to this size (src/storage/sqlite/wal.ts).
    db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`)
    runMigrations(db, options.migrationsDir ?? defaultMigrationsDir('sqlite'))
  } catch (err) {
    db.close()
    throw err
  }
  return db
}

/**
 * Runs `work` with the connection's busy timeout set to `ms`, then restores it: for the
 * statements that run on the event loop and must not wait the full timeout for another
 * process's lock (readiness probes, WAL checkpoints).
 */
export function withBusyTimeout<T>(db: Database, ms: number, work: () => T): T {
  const previous = db.pragma('busy_timeout', { simple: true }) as number
  db.pragma(`busy_timeout = ${Math.trunc(ms)}`)
  try {
    return work()
  } finally {
    db.pragma(`busy_timeout = ${previous}`)
  }
}
