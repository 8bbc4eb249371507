import { randomUUID } from 'node:crypto'
import { pageBounds, toPage } from '../cursor.js'
import { DuplicateIdempotencyKeyError, QueueFullError } from '../errors.js'
import type { CreateOptions, JobsStore } from '../storage.js'
import {
  JOB_STATUSES,
  toJobRecord,
  type DeleteResult,
  type JobOutcome,
  type JobPage,
  type JobProgress,
  type JobRecord,
  type JobRow,
  type JobStatus,
  type JobSummary,
  type LeaseOwner,
  type ListJobsQuery,
  type NewJob,
  type ReapedJob,
  type ReapResult,
} from '../types.js'
import type { Session } from './session.js'

/** Channel on which a job entering the queue is announced; idle workers LISTEN on it. */
export const QUEUED_CHANNEL = 'seqserve_jobs_queued'

/** Submissions take this transaction-scoped advisory lock, so the queue cap and idempotency keys hold across API nodes. */
const SUBMIT_LOCK = "hashtext('seqserve.submit')"

// Listing leaves the dataset out of `spec` inside PostgreSQL, so a page of big jobs is not parsed in JS.
const SUMMARY_COLUMNS = `seq, id, name, status, (spec::jsonb - 'data')::text AS spec, data_summary, epochs, progress_epoch,
  loss, best_loss, error_code, error_message, attempt, cancel_requested, lease_owner, lease_expires_at,
  idempotency_key, request_hash, created_at, started_at, finished_at, updated_at`

const OWNED = `id = $1 AND status = 'running' AND lease_owner = $2`
const EXPIRED = `status = 'running' AND lease_expires_at <= $1`
const RELEASE = 'lease_owner = NULL, lease_expires_at = NULL, updated_at = $1'
const REAPED = 'RETURNING id, attempt, progress_epoch AS epoch'

function isUniqueViolation(err: unknown, constraint: string): boolean {
  const e = err as { code?: string; constraint?: string }
  return e.code === '23505' && e.constraint === constraint
}

/**
 * The durable job queue on PostgreSQL. Claims are one `FOR UPDATE SKIP LOCKED` statement,
 * so any number of workers take distinct jobs without waiting on each other; every write a
 * worker makes is fenced by its lease as in the SQLite store.
 */
export class PgJobsRepository implements JobsStore {
  constructor(private readonly db: Session) {}

  async create(input: NewJob, now: number): Promise<JobRecord> {
    try {
      const { rows } = await this.db.query<JobRow>(
        `INSERT INTO jobs (id, name, status, spec, data_summary, epochs, idempotency_key, request_hash, created_at, updated_at)
         VALUES ($1, $2, 'queued', $3, $4, $5, $6, $7, $8, $8)
         RETURNING *`,
        [randomUUID(), input.name, JSON.stringify(input.spec), JSON.stringify(input.dataSummary), input.epochs,
          input.idempotencyKey ?? null, input.requestHash ?? null, now],
      )
      await this.db.query('SELECT pg_notify($1, $2)', [QUEUED_CHANNEL, rows[0].id])
      return toJobRecord(rows[0])
    } catch (err) {
      if (input.idempotencyKey != null && isUniqueViolation(err, 'jobs_idempotency_key_key')) {
        throw new DuplicateIdempotencyKeyError(input.idempotencyKey)
      }
      throw err
    }
  }

  async createOrFind(input: NewJob, now: number, options: CreateOptions = {}): Promise<{ job: JobRecord; created: boolean }> {
    return this.db.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(${SUBMIT_LOCK})`)
      const jobs = new PgJobsRepository(tx)
      if (input.idempotencyKey != null) {
        const existing = await jobs.findByIdempotencyKey(input.idempotencyKey)
        if (existing !== undefined) return { job: existing, created: false }
      }
      if (options.maxQueued !== undefined) {
        const queued = await jobs.countQueued()
        if (queued >= options.maxQueued) throw new QueueFullError(queued, options.maxQueued)
      }
      return { job: await jobs.create(input, now), created: true }
    })
  }

  async findById(id: string): Promise<JobRecord | undefined> {
    return this.one('SELECT * FROM jobs WHERE id = $1', [id])
  }

  async findByIdempotencyKey(key: string): Promise<JobRecord | undefined> {
    return this.one('SELECT * FROM jobs WHERE idempotency_key = $1', [key])
  }

  async list(query: ListJobsQuery): Promise<JobPage> {
    const { before, fetch } = pageBounds(query)
    const { rows } = await this.db.query<JobRow>(
      `SELECT ${SUMMARY_COLUMNS} FROM jobs
       WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR name = $2) AND seq < $3
       ORDER BY seq DESC LIMIT $4`,
      [query.status ?? null, query.name ?? null, before, fetch],
    )
    return toPage(rows, query.limit, (row): JobSummary => toJobRecord(row))
  }

  async findNewestSucceededByName(name: string): Promise<JobRecord | undefined> {
    return this.one(`SELECT * FROM jobs WHERE name = $1 AND status = 'succeeded' ORDER BY seq DESC LIMIT 1`, [name])
  }

  async claimNext(owner: LeaseOwner, leaseMs: number, now: number): Promise<JobRecord | undefined> {
    // SKIP LOCKED: a row another worker is claiming right now is passed over, not waited for.
    return this.one(
      `UPDATE jobs SET
         status = 'running',
         attempt = attempt + 1,
         lease_owner = $1,
         lease_expires_at = $2::bigint + $3::bigint,
         started_at = COALESCE(started_at, $2),
         updated_at = $2
       WHERE seq = (
         SELECT seq FROM jobs WHERE status = 'queued' AND cancel_requested = 0
         ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED
       )
       RETURNING *`,
      [owner, now, leaseMs],
    )
  }

  async renewLeases(owner: LeaseOwner, leaseMs: number, now: number): Promise<number> {
    const { rowCount } = await this.db.query(
      `UPDATE jobs SET lease_expires_at = $2::bigint + $3::bigint, updated_at = $2 WHERE status = 'running' AND lease_owner = $1`,
      [owner, now, leaseMs],
    )
    return rowCount ?? 0
  }

  async isOwnedBy(id: string, owner: LeaseOwner): Promise<boolean> {
    const { rowCount } = await this.db.query(`SELECT 1 FROM jobs WHERE ${OWNED}`, [id, owner])
    return rowCount === 1
  }

  /**
   * isOwnedBy that also locks the job's row until the transaction ends, so a reaper cannot
   * take the lease over between this check and the writes that follow it.
   */
  async lockIfOwnedBy(id: string, owner: LeaseOwner): Promise<boolean> {
    const { rowCount } = await this.db.query(`SELECT 1 FROM jobs WHERE ${OWNED} FOR UPDATE`, [id, owner])
    return rowCount === 1
  }

  async recordProgress(id: string, owner: LeaseOwner, progress: JobProgress, now: number): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `UPDATE jobs SET progress_epoch = $3, loss = $4, best_loss = $5, updated_at = $6 WHERE ${OWNED}`,
      [id, owner, progress.epoch, progress.loss, progress.bestLoss, now],
    )
    return rowCount === 1
  }

  async finish(id: string, owner: LeaseOwner, outcome: JobOutcome, now: number): Promise<JobRecord | undefined> {
    return this.one(
      `UPDATE jobs SET
         status = $3, error_code = $4, error_message = $5,
         lease_owner = NULL, lease_expires_at = NULL, finished_at = $6, updated_at = $6
       WHERE ${OWNED}
       RETURNING *`,
      [id, owner, outcome.status, outcome.errorCode ?? null, outcome.errorMessage ?? null, now],
    )
  }

  async requestCancel(id: string, now: number): Promise<JobRecord | undefined> {
    return this.db.transaction(async (tx) => {
      const jobs = new PgJobsRepository(tx)
      return (
        (await jobs.one(
          `UPDATE jobs SET status = 'cancelled', cancel_requested = 1, finished_at = $2, updated_at = $2
           WHERE id = $1 AND status = 'queued' RETURNING *`,
          [id, now],
        )) ??
        (await jobs.one(`UPDATE jobs SET cancel_requested = 1, updated_at = $2 WHERE id = $1 AND status = 'running' RETURNING *`, [id, now])) ??
        (await jobs.findById(id))
      )
    })
  }

  async isCancelRequested(id: string): Promise<boolean> {
    const { rows } = await this.db.query<{ cancel_requested: number }>('SELECT cancel_requested FROM jobs WHERE id = $1', [id])
    return rows[0]?.cancel_requested === 1
  }

  async requeue(id: string, owner: LeaseOwner, options: { countAttempt: boolean }, now: number): Promise<JobRecord | undefined> {
    // A job whose cancel was requested ends here rather than going back to a queue that skips it.
    const job = await this.one(
      `UPDATE jobs SET
         status = CASE WHEN cancel_requested = 1 THEN 'cancelled' ELSE 'queued' END,
         finished_at = CASE WHEN cancel_requested = 1 THEN $3::bigint ELSE NULL END,
         attempt = CASE WHEN $4 THEN attempt ELSE GREATEST(attempt - 1, 0) END,
         lease_owner = NULL, lease_expires_at = NULL, updated_at = $3
       WHERE ${OWNED}
       RETURNING *`,
      [id, owner, now, options.countAttempt],
    )
    if (job?.status === 'queued') await this.db.query('SELECT pg_notify($1, $2)', [QUEUED_CHANNEL, id])
    return job
  }

  async reapExpiredLeases(now: number, maxAttempts = 3): Promise<ReapResult> {
    return this.db.transaction(async (tx) => {
      const reap = async (sql: string, values: unknown[]) => (await tx.query<ReapedJob>(sql, values)).rows
      const cancelled = await reap(
        `UPDATE jobs SET status = 'cancelled', finished_at = $1, ${RELEASE} WHERE ${EXPIRED} AND cancel_requested = 1 ${REAPED}`,
        [now],
      )
      const failed = await reap(
        `UPDATE jobs SET
           status = 'failed', error_code = 'stalled',
           error_message = 'The job''s worker stopped heartbeating ' || attempt || ' times (its lease expired on each attempt); giving up.',
           finished_at = $1, ${RELEASE}
         WHERE ${EXPIRED} AND attempt >= $2 ${REAPED}`,
        [now, maxAttempts],
      )
      const requeued = await reap(`UPDATE jobs SET status = 'queued', ${RELEASE} WHERE ${EXPIRED} ${REAPED}`, [now])
      if (requeued.length > 0) await tx.query('SELECT pg_notify($1, $2)', [QUEUED_CHANNEL, requeued[0].id])
      return { requeued, failed, cancelled }
    })
  }

  async delete(id: string): Promise<DeleteResult> {
    return this.db.transaction(async (tx): Promise<DeleteResult> => {
      const { rows } = await tx.query<{ status: JobStatus }>('SELECT status FROM jobs WHERE id = $1 FOR UPDATE', [id])
      if (rows.length === 0) return 'not_found'
      if (rows[0].status === 'queued' || rows[0].status === 'running') return 'conflict'
      // Locking the version waits for an alias being set on it (its foreign-key check holds a
      // KEY SHARE lock) and keeps new ones out; the check after the lock then sees every alias.
      await tx.query('SELECT 1 FROM model_versions WHERE job_id = $1 FOR UPDATE', [id])
      const aliased = await tx.query('SELECT 1 FROM model_aliases a JOIN model_versions v ON v.name = a.name AND v.version = a.version WHERE v.job_id = $1 LIMIT 1', [id])
      if (aliased.rows.length > 0) return 'aliased'
      await tx.query('DELETE FROM jobs WHERE id = $1', [id])
      return 'deleted'
    })
  }

  async countByStatus(): Promise<Record<JobStatus, number>> {
    const counts = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>
    const { rows } = await this.db.query<{ status: JobStatus; n: number }>('SELECT status, COUNT(*) AS n FROM jobs GROUP BY status')
    for (const { status, n } of rows) counts[status] = n
    return counts
  }

  async countQueued(): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM jobs WHERE status = 'queued'`)
    return rows[0].n
  }

  private async one(sql: string, values: unknown[]): Promise<JobRecord | undefined> {
    const { rows } = await this.db.query<JobRow>(sql, values)
    return rows.length === 0 ? undefined : toJobRecord(rows[0])
  }
}
