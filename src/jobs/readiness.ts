import type { Storage } from '../storage/storage.js'
import { currentVersion, listMigrationFiles } from '../storage/migrate.js'
import { defaultMigrationsDir } from '../storage/database.js'
import type { JobRunner } from './runner.js'

export interface Readiness {
  ready: boolean
  checks: { database: boolean; migrations: boolean; workers: boolean }
  /** Why the service is not ready, one sentence each (empty when ready). */
  reasons: string[]
}

/**
 * Whether this process can take traffic: the database accepts writes, its schema is at the
 * version of this code, and the worker pool is up (when this process trains).
 */
export function checkReadiness(storage: Storage, runner: JobRunner | null, migrationsDir = defaultMigrationsDir()): Readiness {
  const reasons: string[] = []
  let database = false
  try {
    // Taking the write lock proves the file is open, writable and not locked by someone else.
    storage.db.prepare('BEGIN IMMEDIATE').run()
    storage.db.prepare('ROLLBACK').run()
    database = !storage.db.readonly
    if (!database) reasons.push('the database is open read-only')
  } catch (err) {
    reasons.push(`the database is not writable: ${(err as Error).message}`)
  }
  let migrations = false
  if (database) {
    try {
      const latest = latestMigration(migrationsDir)
      const version = currentVersion(storage.db)
      migrations = version === latest
      if (!migrations) reasons.push(`the database schema is at version ${version}, this code expects ${latest}`)
    } catch (err) {
      reasons.push(`cannot read the migrations: ${(err as Error).message}`)
    }
  }
  const workers = runner === null || runner.running
  if (!workers) reasons.push('the training worker pool is not running (starting up or shutting down)')
  return { ready: reasons.length === 0, checks: { database, migrations, workers }, reasons }
}

const latestByDir = new Map<string, number>()

/** The newest migration shipped with this code (read once per folder: it does not change while running). */
function latestMigration(dir: string): number {
  let latest = latestByDir.get(dir)
  if (latest === undefined) {
    const files = listMigrationFiles(dir)
    latest = files.length > 0 ? files[files.length - 1].version : 0
    latestByDir.set(dir, latest)
  }
  return latest
}
