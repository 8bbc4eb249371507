import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import BetterSqlite3 from 'better-sqlite3'
import { runMigrations } from './migrate.js'

export type Database = BetterSqlite3.Database

export interface OpenDatabaseOptions {
  /** File path, or `:memory:` for a private in-memory database. */
  path: string
  /** Defaults to `<package root>/migrations`. */
  migrationsDir?: string
  /** Milliseconds a statement waits for another connection's write lock. Default 5000. */
  busyTimeoutMs?: number
}

const IN_MEMORY = ':memory:'

/**
 * The package root is the nearest ancestor holding package.json and a
 * migrations folder. Walking up (rather than a fixed `../..`) keeps this right
 * both under tsx (src/storage/*.ts) and when built (dist/src/storage/*.js).
 */
export function defaultMigrationsDir(fromFile: string = fileURLToPath(import.meta.url)): string {
  let dir = path.dirname(fromFile)
  for (;;) {
    const candidate = path.join(dir, 'migrations')
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(candidate)) return candidate
    const parent = path.dirname(dir)
    if (parent === dir) {
      throw new Error(`Cannot find the migrations folder: no ancestor of ${fromFile} holds package.json and migrations/`)
    }
    dir = parent
  }
}

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
    runMigrations(db, options.migrationsDir ?? defaultMigrationsDir())
  } catch (err) {
    db.close()
    throw err
  }
  return db
}
