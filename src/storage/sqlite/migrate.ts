import type BetterSqlite3 from 'better-sqlite3'
import {
  MIGRATIONS_TABLE,
  listMigrationFiles,
  migrationFailed,
  pendingMigrations,
  readMigrationSql,
  type AppliedMigration,
  type MigrationResult,
} from '../migrations.js'

export { listMigrationFiles, type MigrationFile, type MigrationResult } from '../migrations.js'

function hasMigrationsTable(db: BetterSqlite3.Database): boolean {
  return db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).get() !== undefined
}

/** Highest applied migration version; 0 for a fresh database. */
export function currentVersion(db: BetterSqlite3.Database): number {
  if (!hasMigrationsTable(db)) return 0
  const row = db.prepare('SELECT MAX(version) AS version FROM schema_migrations').get() as { version: number | null }
  return row.version ?? 0
}

export function appliedMigrations(db: BetterSqlite3.Database): AppliedMigration[] {
  if (!hasMigrationsTable(db)) return []
  return db.prepare('SELECT version, name, applied_at AS appliedAt FROM schema_migrations ORDER BY version').all() as AppliedMigration[]
}

/** Applies the pending files of `dir` (see ../migrations.ts), each in an IMMEDIATE transaction. */
export function runMigrations(db: BetterSqlite3.Database, dir: string): MigrationResult {
  const files = listMigrationFiles(dir)
  db.exec(MIGRATIONS_TABLE)
  const pending = pendingMigrations(files, appliedMigrations(db))

  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
  const isApplied = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?')
  const applied: string[] = []

  for (const migration of pending) {
    const sql = readMigrationSql(migration)
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
      throw migrationFailed(migration, currentVersion(db), err)
    }
  }
  return { applied }
}
