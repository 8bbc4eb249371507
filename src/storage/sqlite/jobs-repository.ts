import { randomUUID } from 'node:crypto'
import type BetterSqlite3 from 'better-sqlite3'
import { pageBounds, toPage } from '../cursor.js'
import { DuplicateIdempotencyKeyError, QueueFullError } from '../errors.js'
import type { CreateOptions, JobsStore } from '../storage.js'
import type { Synchronous } from '../synchronous.js'
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
  type ListJobsQuery,
  type NewJob,
  type ReapedJob,
  type ReapResult,
} from '../types.js'

type Stmt<Params = unknown, Result = unknown> = BetterSqlite3.Statement<[Params], Result>

interface Owned {
  id: string
  owner: string
}

// Listing leaves the dataset out of `spec` inside SQLite, so a page of big jobs is not parsed in JS.
const SUMMARY_COLUMNS = `seq, id, name, status, json_remove(spec, '$.data') AS spec, data_summary, epochs, progress_epoch,
  loss, best_loss, error_code, error_message, attempt, cancel_requested, lease_owner, lease_expires_at,
  idempotency_key, request_hash, created_at, started_at, finished_at, updated_at`

/**
 * The durable job queue. Every state change a worker makes is guarded by its
 * lease (status = 'running' AND lease_owner = owner): once a lease is reaped,
 * the old worker's late writes become no-ops instead of corrupting the retry.
 */
export class SqliteJobsRepository implements Synchronous<JobsStore> {
  private readonly db: BetterSqlite3.Database
  private readonly insertStmt: Stmt<Record<string, unknown>, JobRow>
  private readonly byIdStmt: Stmt<string, JobRow>
  private readonly byKeyStmt: Stmt<string, JobRow>
  private readonly listStmts: Record<'all' | 'status' | 'name' | 'nameStatus', Stmt<Record<string, unknown>, JobRow>>
  private readonly newestSucceededStmt: Stmt<string, JobRow>
  private readonly claimStmt: Stmt<Record<string, unknown>, JobRow>
  private readonly renewStmt: Stmt<Record<string, unknown>>
  private readonly ownedStmt: Stmt<Owned, { one: 1 }>
  private readonly progressStmt: Stmt<Record<string, unknown>>
  private readonly finishStmt: Stmt<Record<string, unknown>, JobRow>
  private readonly cancelQueuedStmt: Stmt<Record<string, unknown>, JobRow>
  private readonly cancelRunningStmt: Stmt<Record<string, unknown>, JobRow>
  private readonly cancelRequestedStmt: BetterSqlite3.Statement<[string], number>
  private readonly requeueStmt: Stmt<Record<string, unknown>, JobRow>
  private readonly reapCancelledStmt: Stmt<Record<string, unknown>, ReapedJob>
  private readonly reapFailedStmt: Stmt<Record<string, unknown>, ReapedJob>
  private readonly reapRequeuedStmt: Stmt<Record<string, unknown>, ReapedJob>
  private readonly deleteStmt: Stmt<string>
  private readonly aliasedStmt: Stmt<string, unknown>
  private readonly countByStatusStmt: BetterSqlite3.Statement<[], { status: JobStatus; n: number }>
  private readonly countQueuedStmt: BetterSqlite3.Statement<[], number>

  constructor(db: BetterSqlite3.Database) {
    this.db = db
    this.insertStmt = db.prepare(`
      INSERT INTO jobs (id, name, status, spec, data_summary, epochs, idempotency_key, request_hash, created_at, updated_at)
      VALUES (@id, @name, 'queued', @spec, @dataSummary, @epochs, @idempotencyKey, @requestHash, @now, @now)
      RETURNING *`)
    this.byIdStmt = db.prepare('SELECT * FROM jobs WHERE id = ?')
    this.byKeyStmt = db.prepare('SELECT * FROM jobs WHERE idempotency_key = ?')
    const list = (where: string): Stmt<Record<string, unknown>, JobRow> =>
      db.prepare(`SELECT ${SUMMARY_COLUMNS} FROM jobs WHERE ${where} seq < @before ORDER BY seq DESC LIMIT @limit`)
    this.listStmts = {
      all: list(''),
      status: list('status = @status AND'),
      name: list('name = @name AND'),
      nameStatus: list('name = @name AND status = @status AND'),
    }
    this.newestSucceededStmt = db.prepare(
      `SELECT * FROM jobs WHERE name = ? AND status = 'succeeded' ORDER BY seq DESC LIMIT 1`,
    )
    // One statement takes SQLite's write lock before reading, so two connections
    // can never both see the same job as the oldest queued one.
    this.claimStmt = db.prepare(`
      UPDATE jobs SET
        status = 'running',
        attempt = attempt + 1,
        lease_owner = @owner,
        lease_expires_at = @now + @leaseMs,
        started_at = COALESCE(started_at, @now),
        updated_at = @now
      WHERE seq = (
        SELECT seq FROM jobs WHERE status = 'queued' AND cancel_requested = 0 ORDER BY seq LIMIT 1
      )
      RETURNING *`)
    this.renewStmt = db.prepare(`
      UPDATE jobs SET lease_expires_at = @now + @leaseMs, updated_at = @now
      WHERE status = 'running' AND lease_owner = @owner`)
    this.ownedStmt = db.prepare(
      `SELECT 1 AS one FROM jobs WHERE id = @id AND status = 'running' AND lease_owner = @owner`,
    )
    this.progressStmt = db.prepare(`
      UPDATE jobs SET progress_epoch = @epoch, loss = @loss, best_loss = @bestLoss, updated_at = @now
      WHERE id = @id AND status = 'running' AND lease_owner = @owner`)
    this.finishStmt = db.prepare(`
      UPDATE jobs SET
        status = @status, error_code = @errorCode, error_message = @errorMessage,
        lease_owner = NULL, lease_expires_at = NULL, finished_at = @now, updated_at = @now
      WHERE id = @id AND status = 'running' AND lease_owner = @owner
      RETURNING *`)
    this.cancelQueuedStmt = db.prepare(`
      UPDATE jobs SET status = 'cancelled', cancel_requested = 1, finished_at = @now, updated_at = @now
      WHERE id = @id AND status = 'queued'
      RETURNING *`)
    this.cancelRunningStmt = db.prepare(`
      UPDATE jobs SET cancel_requested = 1, updated_at = @now
      WHERE id = @id AND status = 'running'
      RETURNING *`)
    this.cancelRequestedStmt = db.prepare<[string], number>('SELECT cancel_requested FROM jobs WHERE id = ?').pluck()
    // A job whose cancel was requested ends here rather than going back to a queue that skips it.
    this.requeueStmt = db.prepare(`
      UPDATE jobs SET
        status = CASE WHEN cancel_requested = 1 THEN 'cancelled' ELSE 'queued' END,
        finished_at = CASE WHEN cancel_requested = 1 THEN @now ELSE NULL END,
        attempt = CASE WHEN @countAttempt = 1 THEN attempt ELSE MAX(attempt - 1, 0) END,
        lease_owner = NULL, lease_expires_at = NULL, updated_at = @now
      WHERE id = @id AND status = 'running' AND lease_owner = @owner
      RETURNING *`)
    const expired = `status = 'running' AND lease_expires_at <= @now`
    const release = 'lease_owner = NULL, lease_expires_at = NULL, updated_at = @now'
    const reaped = 'RETURNING id, attempt, progress_epoch AS epoch'
    this.reapCancelledStmt = db.prepare(`
      UPDATE jobs SET status = 'cancelled', finished_at = @now, ${release}
      WHERE ${expired} AND cancel_requested = 1
      ${reaped}`)
    this.reapFailedStmt = db.prepare(`
      UPDATE jobs SET
        status = 'failed', error_code = 'stalled',
        error_message = 'The job''s worker stopped heartbeating ' || attempt || ' times (its lease expired on each attempt); giving up.',
        finished_at = @now, ${release}
      WHERE ${expired} AND attempt >= @maxAttempts
      ${reaped}`)
    this.reapRequeuedStmt = db.prepare(`
      UPDATE jobs SET status = 'queued', ${release}
      WHERE ${expired}
      ${reaped}`)
    this.deleteStmt = db.prepare('DELETE FROM jobs WHERE id = ?')
    this.aliasedStmt = db.prepare('SELECT 1 FROM model_aliases a JOIN model_versions v ON v.name = a.name AND v.version = a.version WHERE v.job_id = ? LIMIT 1')
    this.countByStatusStmt = db.prepare('SELECT status, COUNT(*) AS n FROM jobs GROUP BY status')
    this.countQueuedStmt = db.prepare<[], number>(`SELECT COUNT(*) FROM jobs WHERE status = 'queued'`).pluck()
  }

  /** Inserts a queued job with a fresh UUID. Throws DuplicateIdempotencyKeyError if the key is taken. */
  create(input: NewJob, now: number): JobRecord {
    try {
      const row = this.insertStmt.get({
        id: randomUUID(),
        name: input.name,
        spec: JSON.stringify(input.spec),
        dataSummary: JSON.stringify(input.dataSummary),
        epochs: input.epochs,
        idempotencyKey: input.idempotencyKey ?? null,
        requestHash: input.requestHash ?? null,
        now,
      })
      return toJobRecord(row as JobRow)
    } catch (err) {
      const e = err as { code?: string; message?: string }
      if (input.idempotencyKey != null && e.code === 'SQLITE_CONSTRAINT_UNIQUE' && e.message?.includes('jobs.idempotency_key')) {
        throw new DuplicateIdempotencyKeyError(input.idempotencyKey)
      }
      throw err
    }
  }

  /**
   * Idempotent create: returns the job already holding `input.idempotencyKey`
   * (created = false; compare its requestHash yourself) or creates one, atomically.
   */
  createOrFind(input: NewJob, now: number, options: CreateOptions = {}): { job: JobRecord; created: boolean } {
    return this.db.transaction(() => {
      if (input.idempotencyKey != null) {
        const existing = this.findByIdempotencyKey(input.idempotencyKey)
        if (existing !== undefined) return { job: existing, created: false }
      }
      if (options.maxQueued !== undefined) {
        const queued = this.countQueued()
        if (queued >= options.maxQueued) throw new QueueFullError(queued, options.maxQueued)
      }
      return { job: this.create(input, now), created: true }
    }).immediate()
  }

  findById(id: string): JobRecord | undefined {
    const row = this.byIdStmt.get(id)
    return row === undefined ? undefined : toJobRecord(row)
  }

  findByIdempotencyKey(key: string): JobRecord | undefined {
    const row = this.byKeyStmt.get(key)
    return row === undefined ? undefined : toJobRecord(row)
  }

  /** Newest first, without datasets (see JobSummary). Throws InvalidCursorError for a cursor it did not issue. */
  list(query: ListJobsQuery): JobPage {
    const { before, fetch } = pageBounds(query)
    const variant =
      query.name !== undefined ? (query.status !== undefined ? 'nameStatus' : 'name') : query.status !== undefined ? 'status' : 'all'
    const rows = this.listStmts[variant].all({ status: query.status, name: query.name, before, limit: fetch })
    return toPage(rows, query.limit, (row): JobSummary => toJobRecord(row))
  }

  /** What predict-by-model-name serves: the most recently created job of that name that succeeded. */
  findNewestSucceededByName(name: string): JobRecord | undefined {
    const row = this.newestSucceededStmt.get(name)
    return row === undefined ? undefined : toJobRecord(row)
  }

  /** Atomically takes the oldest queued job for `owner`, or returns undefined when none is waiting. */
  claimNext(owner: string, leaseMs: number, now: number): JobRecord | undefined {
    const row = this.claimStmt.get({ owner, leaseMs, now })
    return row === undefined ? undefined : toJobRecord(row)
  }

  /** Heartbeat: extends the lease of every running job held by `owner`. Returns how many. */
  renewLeases(owner: string, leaseMs: number, now: number): number {
    return this.renewStmt.run({ owner, leaseMs, now }).changes
  }

  isOwnedBy(id: string, owner: string): boolean {
    return this.ownedStmt.get({ id, owner }) !== undefined
  }

  /** Returns false (and writes nothing) when `owner` no longer holds the job's lease. */
  recordProgress(id: string, owner: string, progress: JobProgress, now: number): boolean {
    return this.progressStmt.run({ id, owner, epoch: progress.epoch, loss: progress.loss, bestLoss: progress.bestLoss, now }).changes === 1
  }

  /** Ends a running job held by `owner`; undefined when it does not hold the lease. */
  finish(id: string, owner: string, outcome: JobOutcome, now: number): JobRecord | undefined {
    const row = this.finishStmt.get({
      id,
      owner,
      status: outcome.status,
      errorCode: outcome.errorCode ?? null,
      errorMessage: outcome.errorMessage ?? null,
      now,
    })
    return row === undefined ? undefined : toJobRecord(row)
  }

  /**
   * A queued job is cancelled at once; a running job is flagged for its worker
   * to stop at the next step. A finished job is returned unchanged; an unknown id gives undefined.
   */
  requestCancel(id: string, now: number): JobRecord | undefined {
    return this.db.transaction(() => {
      const row = this.cancelQueuedStmt.get({ id, now }) ?? this.cancelRunningStmt.get({ id, now }) ?? this.byIdStmt.get(id)
      return row === undefined ? undefined : toJobRecord(row)
    }).immediate()
  }

  /** Unknown ids count as not requested. */
  isCancelRequested(id: string): boolean {
    return this.cancelRequestedStmt.get(id) === 1
  }

  /**
   * Puts a running job back in the queue (e.g. graceful shutdown). With
   * countAttempt = false the attempt is given back. A job whose cancel was
   * requested ends `cancelled` instead. Undefined when `owner` lost the lease.
   */
  requeue(id: string, owner: string, options: { countAttempt: boolean }, now: number): JobRecord | undefined {
    const row = this.requeueStmt.get({ id, owner, countAttempt: options.countAttempt ? 1 : 0, now })
    return row === undefined ? undefined : toJobRecord(row)
  }

  /**
   * Running jobs whose lease expired (lease_expires_at <= now: their worker
   * died) go back to the queue keeping their attempt count; after `maxAttempts`
   * starts they fail with code `stalled`; cancel-requested ones end `cancelled`.
   */
  reapExpiredLeases(now: number, maxAttempts = 3): ReapResult {
    return this.db.transaction(() => {
      const cancelled = this.reapCancelledStmt.all({ now })
      const failed = this.reapFailedStmt.all({ now, maxAttempts })
      const requeued = this.reapRequeuedStmt.all({ now })
      return { requeued, failed, cancelled }
    }).immediate()
  }

  /** Removes a finished job with its checkpoints and losses (ON DELETE CASCADE). */
  delete(id: string): DeleteResult {
    return this.db.transaction((): DeleteResult => {
      const row = this.byIdStmt.get(id)
      if (row === undefined) return 'not_found'
      if (row.status === 'queued' || row.status === 'running') return 'conflict'
      // Same transaction as the delete: an alias set since the caller looked still blocks it.
      if (this.aliasedStmt.get(id) !== undefined) return 'aliased'
      this.deleteStmt.run(id)
      return 'deleted'
    }).immediate()
  }

  countByStatus(): Record<JobStatus, number> {
    const counts = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>
    for (const { status, n } of this.countByStatusStmt.all()) counts[status] = n
    return counts
  }

  countQueued(): number {
    return this.countQueuedStmt.get() ?? 0
  }
}

