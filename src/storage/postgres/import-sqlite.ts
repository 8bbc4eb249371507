import fs from 'node:fs'
import { openDatabase } from '../sqlite/database.js'
import type { CheckpointRow, JobRow, LossRow } from '../types.js'
import { PgCheckpointsRepository } from './checkpoints-repository.js'
import { PoolSession } from './session.js'
import { openPostgresStorage } from './storage.js'

export interface ImportResult {
  jobs: number
  losses: number
  checkpoints: number
  /** Jobs that were running in the file: they are queued again and resume from their last checkpoint. */
  requeued: number
}

const JOB_COLUMNS = [
  'seq', 'id', 'name', 'status', 'spec', 'data_summary', 'epochs', 'progress_epoch', 'loss', 'best_loss', 'error_code',
  'error_message', 'attempt', 'cancel_requested', 'lease_owner', 'lease_expires_at', 'idempotency_key', 'request_hash',
  'created_at', 'started_at', 'finished_at', 'updated_at',
] as const

/** Larger than any number of intermediate checkpoints a job keeps: the import keeps every one. */
const KEEP_ALL = 1_000_000

/**
 * Moves a SQLite database into an empty PostgreSQL database, keeping every id, queue
 * position (seq), time, loss point and checkpoint, in one transaction (all or nothing).
 * The file is first upgraded to this code's schema. Stop every seqserve process using the
 * file first; a job still marked running is queued again (its lease holder is gone).
 */
export async function importSqliteIntoPostgres(sqlitePath: string, url: string): Promise<ImportResult> {
  if (!fs.existsSync(sqlitePath)) throw new Error(`${sqlitePath} does not exist: give the path of the SQLite database (DATABASE_PATH)`)
  const db = openDatabase({ path: sqlitePath })
  const target = await openPostgresStorage({ url })
  try {
    const existing = Object.values(await target.jobs.countByStatus()).reduce((a, b) => a + b, 0)
    if (existing > 0) throw new Error(`the PostgreSQL database already holds ${existing} jobs; import into an empty database`)
    const jobs = db.prepare('SELECT * FROM jobs ORDER BY seq').all() as JobRow[]
    const losses = db.prepare('SELECT * FROM losses ORDER BY job_id, epoch').iterate() as IterableIterator<LossRow>
    const checkpoints = db.prepare('SELECT * FROM checkpoints ORDER BY job_id, epoch').iterate() as IterableIterator<CheckpointRow>
    const result: ImportResult = { jobs: 0, losses: 0, checkpoints: 0, requeued: 0 }
    await new PoolSession(target.pool).transaction(async (tx) => {
      const placeholders = JOB_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')
      for (const job of jobs) {
        const row: Record<string, unknown> = { ...job }
        if (job.status === 'running') {
          Object.assign(row, { status: 'queued', lease_owner: null, lease_expires_at: null })
          result.requeued++
        }
        await tx.query(
          `INSERT INTO jobs (${JOB_COLUMNS.join(', ')}) OVERRIDING SYSTEM VALUE VALUES (${placeholders})`,
          JOB_COLUMNS.map((column) => row[column]),
        )
        result.jobs++
      }
      for (const point of losses) {
        await tx.query('INSERT INTO losses (job_id, epoch, loss, val_loss, at, metrics, lr) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
          point.job_id, point.epoch, point.loss, point.val_loss, point.at, point.metrics, point.lr,
        ])
        result.losses++
      }
      const stored = new PgCheckpointsRepository(tx)
      for (const c of checkpoints) {
        await stored.save(c.job_id, { epoch: c.epoch, isFinal: c.is_final === 1, format: c.format, blob: c.blob }, c.created_at, KEEP_ALL)
        result.checkpoints++
      }
      // The registry as it was: inserting the succeeded jobs numbered versions in creation order,
      // while SQLite numbered them in order of completion (and holds the aliases).
      await tx.query('DELETE FROM model_aliases')
      await tx.query('DELETE FROM model_versions')
      await tx.query('DELETE FROM models')
      for (const table of ['models', 'model_versions', 'model_aliases']) {
        for (const row of db.prepare(`SELECT * FROM ${table}`).all() as Record<string, unknown>[]) {
          const columns = Object.keys(row)
          await tx.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`, Object.values(row))
        }
      }
      // New jobs continue after the imported ones in queue order.
      await tx.query(`SELECT setval(pg_get_serial_sequence('jobs', 'seq'), MAX(seq)) FROM jobs HAVING MAX(seq) IS NOT NULL`)
    })
    return result
  } finally {
    db.close()
    await target.close()
  }
}
