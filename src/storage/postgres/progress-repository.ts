import type { ProgressStore } from '../storage.js'
import { toBatchProgress, type BatchProgress, type BatchProgressRow, type LeaseOwner } from '../types.js'
import type { Session } from './session.js'

/** Progress inside an epoch on PostgreSQL: one row per job, written only by the holder of the job's lease. */
export class PgProgressRepository implements ProgressStore {
  constructor(private readonly db: Session) {}

  async record(jobId: string, owner: LeaseOwner, progress: BatchProgress): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `INSERT INTO job_progress (job_id, epoch, batch, batches, tokens_per_second, at)
       SELECT $1, $3, $4, $5, $6, $7
       WHERE EXISTS (SELECT 1 FROM jobs WHERE id = $1 AND status = 'running' AND lease_owner = $2)
       ON CONFLICT (job_id) DO UPDATE SET epoch = excluded.epoch, batch = excluded.batch, batches = excluded.batches,
         tokens_per_second = excluded.tokens_per_second, at = excluded.at`,
      [jobId, owner, progress.epoch, progress.batch, progress.batches, progress.tokensPerSecond, progress.at],
    )
    return rowCount === 1
  }

  async get(jobId: string): Promise<BatchProgress | undefined> {
    const { rows } = await this.db.query<BatchProgressRow>('SELECT * FROM job_progress WHERE job_id = $1', [jobId])
    return rows.length === 0 ? undefined : toBatchProgress(rows[0])
  }
}
