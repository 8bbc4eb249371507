import fs from 'node:fs'
import path from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { defaultMigrationsDir } from '../migrations.js'
import { runMigrations } from './migrate.js'

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
    runMigrations(db, options.migrationsDir ?? defaultMigrationsDir('sqlite'))
  } catch (err) {
    db.close()
    throw err
  }
  return db
}
