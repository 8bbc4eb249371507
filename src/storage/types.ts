/**
 * Row types (exactly what SQLite returns, snake_case) and the domain records the
 * rest of seqserve uses (camelCase, JSON parsed, booleans as booleans).
 * Times stay INTEGER milliseconds since the epoch; `msToIso` formats them.
 */

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const
export type JobStatus = (typeof JOB_STATUSES)[number]

/** Statuses a job never leaves. */
export const FINISHED_STATUSES = ['succeeded', 'failed', 'cancelled'] as const
export type FinishedStatus = (typeof FINISHED_STATUSES)[number]

export function isJobStatus(value: unknown): value is JobStatus {
  return typeof value === 'string' && (JOB_STATUSES as readonly string[]).includes(value)
}

export function isFinishedStatus(status: JobStatus): status is FinishedStatus {
  return (FINISHED_STATUSES as readonly string[]).includes(status)
}

/** The normalised job as stored; storage keeps it opaque, the HTTP/engine layers own its shape. */
export interface StoredJobSpec {
  model: unknown
  data: unknown
  training: unknown
}

/**
 * Who holds a running job's lease, compared in full by every fenced write. Built by
 * `leaseOwner(node, incarnation)`: the node names the machine or container, the
 * incarnation one process on it, so a stale process can never write after a takeover.
 */
export type LeaseOwner = string

export function leaseOwner(node: string, incarnation: string): LeaseOwner {
  return `${node}:${incarnation}`
}

export interface JobRow {
  seq: number
  id: string
  name: string
  status: JobStatus
  spec: string
  data_summary: string
  epochs: number
  progress_epoch: number
  loss: number | null
  best_loss: number | null
  error_code: string | null
  error_message: string | null
  attempt: number
  cancel_requested: 0 | 1
  lease_owner: string | null
  lease_expires_at: number | null
  idempotency_key: string | null
  request_hash: string | null
  created_at: number
  started_at: number | null
  finished_at: number | null
  updated_at: number
}

export interface JobRecord {
  seq: number
  id: string
  name: string
  status: JobStatus
  spec: StoredJobSpec
  dataSummary: Record<string, unknown>
  epochs: number
  /** Last completed epoch (0 before the first). */
  progressEpoch: number
  loss: number | null
  bestLoss: number | null
  errorCode: string | null
  errorMessage: string | null
  /** Number of times a worker started the job. */
  attempt: number
  cancelRequested: boolean
  leaseOwner: string | null
  /** ms since epoch */
  leaseExpiresAt: number | null
  idempotencyKey: string | null
  requestHash: string | null
  createdAt: number
  startedAt: number | null
  finishedAt: number | null
  updatedAt: number
}

/**
 * A job as listed: everything but the dataset (`spec.data`), which can be
 * megabytes per job and is only needed by the worker. The size of the data is in `dataSummary`.
 */
export type JobSummary = Omit<JobRecord, 'spec'> & { spec: Omit<StoredJobSpec, 'data'> }

export interface NewJob {
  name: string
  spec: StoredJobSpec
  /** Small JSON-serialisable description of the dataset (never the dataset itself). */
  dataSummary: object
  epochs: number
  idempotencyKey?: string | null
  /** Hash of the request body, compared when the idempotency key is reused. */
  requestHash?: string | null
}

export interface JobProgress {
  epoch: number
  loss: number | null
  bestLoss: number | null
}

export interface JobOutcome {
  status: FinishedStatus
  errorCode?: string | null
  errorMessage?: string | null
}

export interface ListJobsQuery {
  status?: JobStatus
  name?: string
  /** Page size, an integer >= 1. */
  limit: number
  /** `nextCursor` from the previous page. */
  cursor?: string
}

export interface JobPage {
  items: JobSummary[]
  /** Opaque; null on the last page. */
  nextCursor: string | null
}

/** A job whose lease lapsed, as it stood when reaped (read in the same statement, for logs). */
export interface ReapedJob {
  id: string
  attempt: number
  /** Last completed epoch. */
  epoch: number
}

export interface ReapResult {
  requeued: ReapedJob[]
  failed: ReapedJob[]
  /** Jobs whose cancel had been requested: they end `cancelled` instead of running again. */
  cancelled: ReapedJob[]
}

/** `aliased`: the job is a model version an alias points to (checked in the deleting transaction). */
export type DeleteResult = 'deleted' | 'not_found' | 'conflict' | 'aliased'

export interface CheckpointRow {
  id: number
  job_id: string
  epoch: number
  is_final: 0 | 1
  format: number
  blob: Buffer
  created_at: number
}

export interface NewCheckpoint {
  epoch: number
  isFinal: boolean
  /** Version of the blob encoding. */
  format: number
  blob: Buffer | Uint8Array
}

export interface CheckpointMeta {
  jobId: string
  epoch: number
  isFinal: boolean
  format: number
  createdAt: number
}

export interface CheckpointRecord extends CheckpointMeta {
  blob: Buffer
}

export interface LossRow {
  job_id: string
  epoch: number
  loss: number
  val_loss: number | null
  at: number
  /** JSON object of metric name -> value. */
  metrics: string | null
  lr: number | null
}

export interface NewLossPoint {
  epoch: number
  loss: number
  valLoss?: number | null
  /** ms since epoch */
  at: number
  /** Task metrics of the epoch (`accuracy`, `val_accuracy`, ...), finite values only. */
  metrics?: Record<string, number> | null
  /** Learning rate the epoch started with. */
  lr?: number | null
}

export interface LossPoint {
  epoch: number
  loss: number
  valLoss: number | null
  at: number
  metrics: Record<string, number> | null
  lr: number | null
}

export function msToIso(ms: number): string
export function msToIso(ms: number | null): string | null
export function msToIso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString()
}

export function toJobRecord(row: JobRow): JobRecord {
  return {
    seq: row.seq,
    id: row.id,
    name: row.name,
    status: row.status,
    spec: JSON.parse(row.spec) as StoredJobSpec,
    dataSummary: JSON.parse(row.data_summary) as Record<string, unknown>,
    epochs: row.epochs,
    progressEpoch: row.progress_epoch,
    loss: row.loss,
    bestLoss: row.best_loss,
    errorCode: row.error_code,
    errorMessage: row.error_message,
    attempt: row.attempt,
    cancelRequested: row.cancel_requested === 1,
    leaseOwner: row.lease_owner,
    leaseExpiresAt: row.lease_expires_at,
    idempotencyKey: row.idempotency_key,
    requestHash: row.request_hash,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    updatedAt: row.updated_at,
  }
}

export function toCheckpointMeta(row: Omit<CheckpointRow, 'id' | 'blob'>): CheckpointMeta {
  return { jobId: row.job_id, epoch: row.epoch, isFinal: row.is_final === 1, format: row.format, createdAt: row.created_at }
}

export function toCheckpointRecord(row: CheckpointRow): CheckpointRecord {
  return { ...toCheckpointMeta(row), blob: row.blob }
}

export function toLossPoint(row: LossRow): LossPoint {
  return {
    epoch: row.epoch, loss: row.loss, valLoss: row.val_loss, at: row.at,
    metrics: row.metrics === null ? null : JSON.parse(row.metrics) as Record<string, number>, lr: row.lr,
  }
}

// The model registry (migration 0004_models).

export type VersionSource = 'job' | 'import'

export interface ModelVersionRecord {
  name: string
  version: number
  /** The job whose final checkpoint holds the weights (an import is a succeeded job too). */
  jobId: string
  source: VersionSource
  /** ms since epoch */
  createdAt: number
}

export interface ModelRecord {
  name: string
  /** Highest version number ever given (numbers are never reused). */
  lastVersion: number
  createdAt: number
  versions: ModelVersionRecord[]
  /** alias -> version */
  aliases: Record<string, number>
}

export interface AliasRecord {
  name: string
  alias: string
  version: number
}

