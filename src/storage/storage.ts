/**
 * The storage interface: one store per table plus the multi-table writes a worker makes.
 * Every method returns a Promise so that an embedded database (SQLite, synchronous
 * underneath) and a networked one (PostgreSQL) are interchangeable; nothing outside
 * src/storage/ knows which one answers.
 */
import type {
  AliasRecord,
  BatchProgress,
  CheckpointMeta,
  CheckpointRecord,
  DeleteResult,
  JobOutcome,
  JobPage,
  JobProgress,
  JobRecord,
  JobStatus,
  LeaseOwner,
  ListJobsQuery,
  LossPoint,
  ModelRecord,
  ModelVersionRecord,
  NewCheckpoint,
  NewJob,
  NewLossPoint,
  ReapResult,
} from './types.js'
import type { NodeIdHold } from './node-id.js'

export interface CreateOptions {
  /**
   * Refuse (QueueFullError) when this many jobs are already queued, checked atomically with
   * the insert so concurrent submissions (from any process) cannot overshoot the cap.
   * A replay of an existing idempotency key is answered regardless.
   */
  maxQueued?: number
}

/**
 * The durable job queue. Every state change a worker makes is guarded by its lease
 * (status = 'running' AND lease_owner = owner): once a lease is reaped, the old worker's
 * late writes become no-ops instead of corrupting the retry.
 */
export interface JobsStore {
  /** Inserts a queued job with a fresh UUID. Rejects with DuplicateIdempotencyKeyError if the key is taken. */
  create(input: NewJob, now: number): Promise<JobRecord>
  /**
   * Idempotent create: returns the job already holding `input.idempotencyKey`
   * (created = false; compare its requestHash yourself) or creates one, atomically.
   */
  createOrFind(input: NewJob, now: number, options?: CreateOptions): Promise<{ job: JobRecord; created: boolean }>
  findById(id: string): Promise<JobRecord | undefined>
  findByIdempotencyKey(key: string): Promise<JobRecord | undefined>
  /** Newest first, without datasets (see JobSummary). Rejects with InvalidCursorError for a cursor it did not issue. */
  list(query: ListJobsQuery): Promise<JobPage>
  /** What predict-by-model-name serves: the most recently created job of that name that succeeded. */
  findNewestSucceededByName(name: string): Promise<JobRecord | undefined>
  /**
   * Atomically takes the oldest queued job for `owner`, or undefined when none is waiting. The
   * lease records the owner's node (see `leaseNode`) and the newest checkpoint's epoch, against
   * which a lost lease's progress is measured.
   */
  claimNext(owner: LeaseOwner, leaseMs: number, now: number): Promise<JobRecord | undefined>
  /**
   * Heartbeat: extends the leases `owner` holds on `jobIds`, the jobs it is training right now
   * (a row it holds but no longer trains lapses and is reaped). Resolves to how many.
   */
  renewLeases(owner: LeaseOwner, jobIds: readonly string[], leaseMs: number, now: number): Promise<number>
  isOwnedBy(id: string, owner: LeaseOwner): Promise<boolean>
  /** False (and nothing written) when `owner` no longer holds the job's lease. */
  recordProgress(id: string, owner: LeaseOwner, progress: JobProgress, now: number): Promise<boolean>
  /** Ends a running job held by `owner`; undefined when it does not hold the lease. */
  finish(id: string, owner: LeaseOwner, outcome: JobOutcome, now: number): Promise<JobRecord | undefined>
  /**
   * A queued job is cancelled at once; a running job is flagged for its worker to stop at
   * the next step, or cancelled at once when its lease lapsed (no worker is left to stop).
   * A finished job is returned unchanged; an unknown id gives undefined.
   */
  requestCancel(id: string, now: number): Promise<JobRecord | undefined>
  /** Unknown ids count as not requested. */
  isCancelRequested(id: string): Promise<boolean>
  /**
   * Puts a running job back in the queue (e.g. graceful shutdown). With countAttempt = false
   * the attempt is given back. A job whose cancel was requested ends `cancelled` instead.
   * Undefined when `owner` lost the lease.
   */
  requeue(id: string, owner: LeaseOwner, options: { countAttempt: boolean }, now: number): Promise<JobRecord | undefined>
  /**
   * Running jobs whose lease expired (their worker died) go back to the queue. A run that
   * saved a newer checkpoint than the one it was claimed at gives its attempt back; one
   * without progress keeps it, and fails with code `stalled` when that was attempt
   * `maxAttempts`. Cancel-requested ones end `cancelled`.
   */
  reapExpiredLeases(now: number, maxAttempts?: number): Promise<ReapResult>
  /**
   * A restarted node takes back at once, as reapExpiredLeases would once they lapsed, the
   * leases that older incarnations of `owner`'s node hold (same node id, another owner).
   * Only call it while no other live process can hold that node id.
   */
  reclaimLeases(owner: LeaseOwner, now: number, maxAttempts?: number): Promise<ReapResult>
  /** Removes a finished job, or a running one whose lease lapsed, with its checkpoints and losses. */
  delete(id: string, now?: number): Promise<DeleteResult>
  countByStatus(): Promise<Record<JobStatus, number>>
  countQueued(): Promise<number>
}

/**
 * Checkpoint blobs per job. Only the newest few intermediate checkpoints are kept, and
 * final ones are never pruned because predict serves them.
 */
export interface CheckpointsStore {
  /** Stores (or replaces) the checkpoint for its epoch, then keeps only the newest `keep` intermediate ones. */
  save(jobId: string, checkpoint: NewCheckpoint, now: number, keep?: number): Promise<CheckpointMeta>
  /** The highest-epoch checkpoint, blob included: what a resumed run starts from. */
  latest(jobId: string): Promise<CheckpointRecord | undefined>
  /** Like latest() without reading the blob, for status responses. */
  latestMeta(jobId: string): Promise<CheckpointMeta | undefined>
  /** latestMeta for many jobs at once (job listings); jobs without a checkpoint are absent. */
  latestMetaForJobs(jobIds: readonly string[]): Promise<Map<string, CheckpointMeta>>
  /** The checkpoint a finished run left for serving. */
  final(jobId: string): Promise<CheckpointRecord | undefined>
  /** All stored checkpoints of a job, oldest first, without blobs. */
  listMeta(jobId: string): Promise<CheckpointMeta[]>
  at(jobId: string, epoch: number): Promise<CheckpointRecord | undefined>
  /** Drops checkpoints newer than `epoch`. Resolves to how many. */
  deleteAfter(jobId: string, epoch: number): Promise<number>
}

/** Progress inside an epoch: one row per job, replaced as it trains (event streams read it). */
export interface ProgressStore {
  /** Replaces the job's progress while `owner` holds its lease; false (nothing written) otherwise. */
  record(jobId: string, owner: LeaseOwner, progress: BatchProgress): Promise<boolean>
  get(jobId: string): Promise<BatchProgress | undefined>
}

/** Loss history: one point per job and epoch, never two. */
export interface LossesStore {
  /** Writes the points together; an epoch already present is replaced. Non-finite losses are refused. */
  append(jobId: string, points: readonly NewLossPoint[]): Promise<void>
  /** Points in epoch order; with `page`, at most `limit` of them after epoch `afterEpoch`. */
  list(jobId: string, page?: { afterEpoch: number; limit: number }): Promise<LossPoint[]>
  /** Drops points after `epoch` (a resumed run writes them again). Resolves to how many. */
  truncateAfter(jobId: string, epoch: number): Promise<number>
  at(jobId: string, epoch: number): Promise<LossPoint | undefined>
  /** Lowest training loss recorded up to and including `epoch`; null when none. */
  bestUpTo(jobId: string, epoch: number): Promise<number | null>
}

/** What a worker writes after one or more epochs; applied all-or-nothing. */
export interface EpochUpdate {
  /** Loss points for the epochs just completed (each epoch once; a repeat replaces). */
  points: readonly NewLossPoint[]
  progress: JobProgress
  checkpoint?: NewCheckpoint
  /** Intermediate checkpoints to keep (default 2). */
  keepCheckpoints?: number
}

export interface ResumeOptions {
  /** Epoch to rewind to; defaults to the latest checkpoint's epoch, or 0 when there is none. */
  epoch?: number
  /** Defaults to the stored loss point at `epoch` (null at epoch 0). */
  loss?: number | null
  /** Defaults to the lowest stored loss up to `epoch`. */
  bestLoss?: number | null
}

export interface ResumePoint {
  /** The checkpoint to restore; undefined means start from scratch (epoch 0). */
  checkpoint: CheckpointRecord | undefined
  progress: JobProgress
  droppedLossPoints: number
  droppedCheckpoints: number
}

/** What a readiness probe learns from the database. */
export interface StorageHealth {
  /** The database answers and accepts writes. */
  writable: boolean
  /** Its schema is at the newest migration this code ships. */
  migrated: boolean
  /** One sentence per problem; empty when both hold. */
  reasons: string[]
}

/**
 * The registry tables. Versions are created by the database itself when a job of that name
 * succeeds (or an import is inserted as a succeeded job), in the same transaction, so a
 * version can never point at a job without its final checkpoint.
 */
export interface ModelsStore {
  /** Every model with its versions and aliases, by name. */
  list(): Promise<ModelRecord[]>
  get(name: string): Promise<ModelRecord | undefined>
  version(name: string, version: number): Promise<ModelVersionRecord | undefined>
  latest(name: string): Promise<ModelVersionRecord | undefined>
  versionOfJob(jobId: string): Promise<ModelVersionRecord | undefined>
  /** The version `alias` points to, or undefined. */
  resolveAlias(name: string, alias: string): Promise<ModelVersionRecord | undefined>
  /** Points the alias at the version (creating or moving it); false when the version does not exist. */
  setAlias(name: string, alias: string, version: number, now: number): Promise<boolean>
  /** False when there was no such alias. */
  deleteAlias(name: string, alias: string): Promise<boolean>
  /** Aliases pointing at the version a job is. */
  aliasesOfJob(jobId: string): Promise<AliasRecord[]>
  /**
   * An import: inserts a succeeded job holding `checkpoint` as its final checkpoint, in one
   * transaction; the database numbers the new version.
   */
  insertImported(job: NewJob, checkpoint: NewCheckpoint, now: number): Promise<ModelVersionRecord>
}

export type StorageDialect = 'sqlite' | 'postgres'

/**
 * The stores over one database, plus the multi-table writes a worker makes. Each of those
 * runs in one transaction and only while the worker still holds the job's lease, so a
 * crash (or a reaped zombie worker) can never leave loss history, checkpoints and progress
 * disagreeing.
 */
export interface Storage {
  readonly dialect: StorageDialect
  /** Where the data lives, for logs (a file path, or a URL without its password). */
  readonly location: string
  readonly jobs: JobsStore
  readonly checkpoints: CheckpointsStore
  readonly losses: LossesStore
  /** Progress inside the epoch of running jobs (batch k of n, throughput). */
  readonly progress: ProgressStore
  /** The model registry: versions (numbered by the database as jobs succeed) and aliases. */
  readonly models: ModelsStore
  /** Loss points + progress (+ optional checkpoint) atomically. False, with nothing written, if `owner` lost the lease. */
  recordEpochs(jobId: string, owner: LeaseOwner, update: EpochUpdate, now: number): Promise<boolean>
  /** Saves a checkpoint only while `owner` holds the lease; undefined otherwise. */
  saveCheckpoint(jobId: string, owner: LeaseOwner, checkpoint: NewCheckpoint, now: number, keep?: number): Promise<CheckpointMeta | undefined>
  /**
   * Rewinds a (re)claimed job to a checkpoint in one transaction: loss points and
   * checkpoints after it are dropped and progress reset, so the resumed run writes each
   * later epoch exactly once. Undefined if `owner` lost the lease.
   */
  resumeFromCheckpoint(jobId: string, owner: LeaseOwner, now: number, options?: ResumeOptions): Promise<ResumePoint | undefined>
  /**
   * Ends the job, first applying a last update (e.g. the final checkpoint) in the same
   * transaction, so a succeeded job always has its final checkpoint. Undefined, with
   * nothing written, if `owner` lost the lease.
   */
  finishJob(jobId: string, owner: LeaseOwner, outcome: JobOutcome, now: number, lastUpdate?: EpochUpdate): Promise<JobRecord | undefined>
  /** Readiness: can the database take a write now, and is its schema current. Never throws. */
  checkHealth(): Promise<StorageHealth>
  /**
   * Calls `onQueued` soon after any process queues a job, where the database can announce it
   * (PostgreSQL LISTEN/NOTIFY); elsewhere it never fires and workers rely on polling.
   * Resolves to an unsubscribe function.
   */
  watchQueue(onQueued: () => void): Promise<() => Promise<void>>
  /**
   * Holds `preferred` as this process's node id for as long as it lives (or until released):
   * while a live process holds it, the next free `<preferred>~2`, `~3`, ... is held instead.
   * So a restarted process gets its previous id back, and two live ones never share one.
   */
  holdNodeId(preferred: string): Promise<NodeIdHold>
  /** Idempotent. */
  close(): Promise<void>
}
