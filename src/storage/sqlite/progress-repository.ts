import type BetterSqlite3 from 'better-sqlite3'
import type { ProgressStore } from '../storage.js'
import type { Synchronous } from '../synchronous.js'
import { toBatchProgress, type BatchProgress, type BatchProgressRow, type LeaseOwner } from '../types.js'

/** Progress inside an epoch: one row per job, written only by the holder of the job's lease. */
export class SqliteProgressRepository implements Synchronous<ProgressStore> {
  private readonly upsertStmt: BetterSqlite3.Statement<[Record<string, unknown>]>
  private readonly getStmt: BetterSqlite3.Statement<[string], BatchProgressRow>

  constructor(db: BetterSqlite3.Database) {
    this.upsertStmt = db.prepare(`
      INSERT INTO job_progress (job_id, epoch, batch, batches, tokens_per_second, at)
      SELECT @jobId, @epoch, @batch, @batches, @tokensPerSecond, @at
      WHERE EXISTS (SELECT 1 FROM jobs WHERE id = @jobId AND status = 'running' AND lease_owner = @owner)
      ON CONFLICT (job_id) DO UPDATE SET epoch = excluded.epoch, batch = excluded.batch, batches = excluded.batches,
        tokens_per_second = excluded.tokens_per_second, at = excluded.at`)
    this.getStmt = db.prepare('SELECT * FROM job_progress WHERE job_id = ?')
  }

  record(jobId: string, owner: LeaseOwner, progress: BatchProgress): boolean {
    return this.upsertStmt.run({ jobId, owner, ...progress }).changes === 1
  }

  get(jobId: string): BatchProgress | undefined {
    const row = this.getStmt.get(jobId)
    return row === undefined ? undefined : toBatchProgress(row)
  }
}
