import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { DatabaseNewerThanCodeError, MigrationError, MigrationsDirectoryError } from './errors.js'
import type { StorageDialect } from './storage.js'

/**
 * graphile-worker style migrations: `NNNN_description.sql` files of plain SQL, one folder
 * per dialect (`migrations/sqlite/`, `migrations/postgres/`), applied in numeric order,
 * each in its own transaction, recorded in `schema_migrations`. Both folders use the same
 * numbers for the same change. Versions only ever grow; the database remembers which ones
 * it has seen so an older database upgrades in place and a newer one is refused.
 */

export interface MigrationFile {
  version: number
  /** File name without `.sql`, e.g. `0001_jobs`. */
  name: string
  file: string
}

export interface AppliedMigration {
  version: number
  name: string
  appliedAt: string
}

export interface MigrationResult {
  /** File names applied by this run, in order (empty when already up to date). */
  applied: string[]
}

const MIGRATION_FILE = /^(\d{4,})_([A-Za-z0-9][A-Za-z0-9_-]*)\.sql$/

/**
 * The package root's `migrations` folder: the nearest ancestor holding package.json and a
 * migrations folder. Walking up (rather than a fixed `../..`) keeps this right both under
 * tsx (src/storage/*.ts) and when built (dist/src/storage/*.js).
 */
export function migrationsRoot(fromFile: string = fileURLToPath(import.meta.url)): string {
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

/** `<package root>/migrations/<dialect>`. */
export function defaultMigrationsDir(dialect: StorageDialect): string {
  return path.join(migrationsRoot(), dialect)
}

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

/** The newest version among `files` (0 when there are none). */
export function newestVersion(files: readonly MigrationFile[]): number {
  return files.length === 0 ? 0 : files[files.length - 1].version
}

/**
 * The files still to apply, oldest first. Refuses a database migrated by newer code, and a
 * file numbered below the database's version that never ran (two branches picked numbers
 * independently; applying it now would run schema changes out of order).
 */
export function pendingMigrations(files: readonly MigrationFile[], applied: readonly AppliedMigration[]): MigrationFile[] {
  const known = new Set(files.map((m) => m.version))
  const unknown = applied.filter((m) => !known.has(m.version))
  if (unknown.length > 0) {
    const newest = unknown[unknown.length - 1]
    throw new DatabaseNewerThanCodeError(newest.version, newest.name, newestVersion(files))
  }
  const appliedVersions = new Set(applied.map((m) => m.version))
  const pending = files.filter((m) => !appliedVersions.has(m.version))
  const version = applied.reduce((max, m) => Math.max(max, m.version), 0)
  const late = pending.find((m) => m.version < version)
  if (late !== undefined) {
    throw new MigrationsDirectoryError(
      `Migration ${late.name}.sql was never applied, but the database is already at version ${version}. ` +
        'New migrations must use a number higher than every applied one; renumber the file.',
    )
  }
  return pending
}

// COMMIT/ROLLBACK inside a file would end our transaction and let the rest of the file run
// unprotected. (BEGIN needs no check: SQLite refuses it inside a transaction, PostgreSQL warns.)
const TRANSACTION_CONTROL = /^\s*(COMMIT|END\s+TRANSACTION|ROLLBACK(?!\s*,))\b/im

function stripSqlComments(sql: string): string {
  return sql.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/--[^\n]*/g, ' ')
}

/** The file's SQL, refused (MigrationError) when unreadable or when it manages transactions itself. */
export function readMigrationSql(migration: MigrationFile): string {
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
  return sql
}

/** The error for a file that failed and was rolled back. */
export function migrationFailed(migration: MigrationFile, version: number, err: unknown): MigrationError {
  return new MigrationError(
    `${migration.name}.sql`,
    `Migration ${migration.name}.sql failed and was rolled back (database left at version ${version}): ${(err as Error).message}`,
    { cause: err },
  )
}

export const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
  )`
