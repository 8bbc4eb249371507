import type pg from 'pg'
import {
  MIGRATIONS_TABLE,
  listMigrationFiles,
  migrationFailed,
  pendingMigrations,
  readMigrationSql,
  type AppliedMigration,
  type MigrationResult,
} from '../migrations.js'
import { checkOut } from './session.js'

/** Held while migrating, so replicas starting together migrate once and the others wait. */
/** A pool, a client or a Session: anything that runs a query. */
type Queryable = { query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> }

const MIGRATION_LOCK = "hashtext('seqserve.migrate')"

export async function appliedPgMigrations(db: Queryable): Promise<AppliedMigration[]> {
  const { rows } = await db.query<{ exists: boolean }>(`SELECT to_regclass('schema_migrations') IS NOT NULL AS exists`)
  if (!rows[0].exists) return []
  const applied = await db.query<AppliedMigration>('SELECT version, name, applied_at AS "appliedAt" FROM schema_migrations ORDER BY version')
  return applied.rows
}

export async function currentPgVersion(db: Queryable): Promise<number> {
  const applied = await appliedPgMigrations(db)
  return applied.length === 0 ? 0 : applied[applied.length - 1].version
}

/** Applies the pending files of `dir`, each in its own transaction, under a session advisory lock. */
export async function runPgMigrations(pool: pg.Pool, dir: string): Promise<MigrationResult> {
  const files = listMigrationFiles(dir)
  const held = await checkOut(pool)
  const { client } = held
  try {
    await client.query(`SELECT pg_advisory_lock(${MIGRATION_LOCK})`)
    try {
      await client.query(MIGRATIONS_TABLE)
      // Read after taking the lock: whoever held it before may have applied everything.
      const pending = pendingMigrations(files, await appliedPgMigrations(client))
      const applied: string[] = []
      for (const migration of pending) {
        const sql = readMigrationSql(migration)
        try {
          await client.query('BEGIN')
          await client.query(sql)
          await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
            migration.version, migration.name, new Date().toISOString(),
          ])
          await client.query('COMMIT')
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined)
          throw migrationFailed(migration, await currentPgVersion(client), err)
        }
        applied.push(`${migration.name}.sql`)
      }
      return { applied }
    } finally {
      await client.query(`SELECT pg_advisory_unlock(${MIGRATION_LOCK})`).catch(() => undefined)
    }
  } finally {
    held.release()
  }
}
