import fs from 'node:fs'
import path from 'node:path'
import type BetterSqlite3 from 'better-sqlite3'
import { DatabaseNewerThanCodeError, MigrationError, MigrationsDirectoryError } from '../errors.js'

/**
 * graphile-worker style migrations: `NNNN_description.sql` files of plain SQL,
 * applied in numeric order, each in its own transaction, recorded in
 * `schema_migrations`. Versions only ever grow; the database remembers which
 * ones it has seen so an older database upgrades in place and a newer one is refused.
 */

export interface MigrationFile {
  version: number
  /** File name without `.sql`, e.g. `0001_jobs`. */
  name: string
  file: string
}

export interface MigrationResult {
  /** File names applied by this run, in order (empty when already up to date). */
  applied: string[]
}

const MIGRATION_FILE = /^(\d{4,})_([A-Za-z0-9][A-Za-z0-9_-]*)\.sql$/

export function listMigrationFiles(dir: string): MigrationFile[] {
  let entries: string[]
  try {
    entries = fs.readdirSync(dir)
  } catch (err) {
    throw new MigrationsDirectoryError(`Cannot read migrations directory ${dir}: ${(err as Error).message}`)
  }
  const migrations: MigrationFile[] = []
  for (const entry of entries) {
    if (!entry.endsWith('.sql')) continue
    const match = MIGRATION_FILE.exec(entry)
    // A misnamed .sql file would otherwise be skipped silently and its schema never created.
    if (match === null) {
      throw new MigrationsDirectoryError(
        `Migration file ${entry} in ${dir} is not named NNNN_description.sql (digits, underscore, letters/digits/_/-)`,
      )
    }
    migrations.push({ version: Number(match[1]), name: entry.slice(0, -'.sql'.length), file: path.join(dir, entry) })
  }
  migrations.sort((a, b) => a.version - b.version)
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i].version === migrations[i - 1].version) {
      throw new MigrationsDirectoryError(
        `Migrations ${migrations[i - 1].name}.sql and ${migrations[i].name}.sql share version ${migrations[i].version}`,
      )
    }
  }
  if (migrations.length > 0 && migrations[0].version < 1) {
    throw new MigrationsDirectoryError(`Migration versions start at 1, found ${migrations[0].name}.sql`)
  }
  return migrations
}

function ensureMigrationsTable(db: BetterSqlite3.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
  )`)
}

function hasMigrationsTable(db: BetterSqlite3.Database): boolean {
  return db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).get() !== undefined
}

/** Highest applied migration version; 0 for a fresh database. */
export function currentVersion(db: BetterSqlite3.Database): number {
  if (!hasMigrationsTable(db)) return 0
  const row = db.prepare('SELECT MAX(version) AS version FROM schema_migrations').get() as { version: number | null }
  return row.version ?? 0
}

export function appliedMigrations(db: BetterSqlite3.Database): { version: number; name: string; appliedAt: string }[] {
  if (!hasMigrationsTable(db)) return []
  return db
    .prepare('SELECT version, name, applied_at AS appliedAt FROM schema_migrations ORDER BY version')
    .all() as { version: number; name: string; appliedAt: string }[]
}

function checkAppliedAreKnown(db: BetterSqlite3.Database, files: MigrationFile[]): void {
  const known = new Set(files.map((m) => m.version))
  const codeVersion = files.length === 0 ? 0 : files[files.length - 1].version
  const unknown = appliedMigrations(db).filter((m) => !known.has(m.version))
  if (unknown.length === 0) return
  const newest = unknown[unknown.length - 1]
  throw new DatabaseNewerThanCodeError(newest.version, newest.name, codeVersion)
}

// COMMIT/ROLLBACK inside a file would end our transaction and let the rest of
// the file run unprotected. (BEGIN needs no check: SQLite refuses it inside a transaction.)
const TRANSACTION_CONTROL = /^\s*(COMMIT|END\s+TRANSACTION|ROLLBACK(?!\s*,))\b/im

function stripSqlComments(sql: string): string {
  return sql.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/--[^\n]*/g, ' ')
}

function checkNoLateGaps(pending: MigrationFile[], version: number): void {
  // A file numbered below the database's version that never ran means two
  // branches picked numbers independently; applying it now would run schema
  // changes out of order, so stop and let a human renumber it.
  const late = pending.find((m) => m.version < version)
  if (late !== undefined) {
    throw new MigrationsDirectoryError(
      `Migration ${late.name}.sql was never applied, but the database is already at version ${version}. ` +
        'New migrations must use a number higher than every applied one; renumber the file.',
    )
  }
}

export function runMigrations(db: BetterSqlite3.Database, dir: string): MigrationResult {
  const files = listMigrationFiles(dir)
  ensureMigrationsTable(db)
  checkAppliedAreKnown(db, files)

  const appliedVersions = new Set(appliedMigrations(db).map((m) => m.version))
  const pending = files.filter((m) => !appliedVersions.has(m.version))
  checkNoLateGaps(pending, currentVersion(db))

  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
  const isApplied = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?')
  const applied: string[] = []

  for (const migration of pending) {
    let sql: string
    try {
      sql = fs.readFileSync(migration.file, 'utf8')
    } catch (err) {
      throw new MigrationError(`${migration.name}.sql`, `Cannot read migration ${migration.file}: ${(err as Error).message}`, { cause: err })
    }
    const control = TRANSACTION_CONTROL.exec(stripSqlComments(sql))
    if (control !== null) {
      throw new MigrationError(
        `${migration.name}.sql`,
        `Migration ${migration.name}.sql contains ${control[1].toUpperCase()}; migration files must not manage transactions (each file already runs in one)`,
      )
    }
    const apply = db.transaction(() => {
      // Another process may have applied it between our check and taking the write lock.
      if (isApplied.get(migration.version) !== undefined) return false
      db.exec(sql)
      if (!db.inTransaction) throw new Error('the file ended the migration transaction (COMMIT/END); remove transaction statements')
      record.run(migration.version, migration.name, new Date().toISOString())
      return true
    })
    try {
      if (apply.immediate()) applied.push(`${migration.name}.sql`)
    } catch (err) {
      throw new MigrationError(
        `${migration.name}.sql`,
        `Migration ${migration.name}.sql failed and was rolled back (database left at version ${currentVersion(db)}): ${(err as Error).message}`,
        { cause: err },
      )
    }
  }
  return { applied }
}
