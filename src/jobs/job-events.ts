/**
 * The events of one job, as Server-Sent Events read from what is persisted: `status` when
 * the job's status changes, `epoch` for every finished epoch (loss, val_loss, lr, metrics,
 * throughput, ETA), `progress` inside long epochs (batch k of n), and a last `status` when
 * it ends. Event ids are `<epoch>.<status>`: the last epoch and status the client has seen,
 * so a reconnect with Last-Event-ID continues without gaps or repeats, whichever process
 * trains the job. `progress` events carry no id: they are a view of the moment, never
 * replayed, and leave the client's Last-Event-ID where the last epoch or status put it.
 */
import type { Storage } from '../storage/storage.js'
import { isFinishedStatus, type BatchProgress, type JobRecord, type JobStatus, type LossPoint, msToIso } from '../storage/types.js'
import { describeStorageWait, type StorageWait } from './persist-retry.js'
import type { JobWakeups } from './wakeups.js'

export interface JobEvent {
  /** null: an event that is not part of the resumable history (`progress`). */
  id: string | null
  event: 'status' | 'epoch' | 'progress' | 'storage_wait'
  data: Record<string, unknown>
}

/** Loss points one read of a job returns at most (a long history streams in parts). */
const MAX_POINTS_PER_READ = 5000

export interface Cursor {
  epoch: number
  status: JobStatus | null
}

const CURSOR = /^(\d{1,9})\.([a-z]+)$/

/** Last-Event-ID -> where to continue; anything unreadable starts from the beginning. */
export function parseEventId(id: string | undefined): Cursor {
  const match = CURSOR.exec(id ?? '')
  return match ? { epoch: Number(match[1]), status: match[2] as JobStatus } : { epoch: 0, status: null }
}

export function formatCursor(cursor: Cursor): string {
  return `${cursor.epoch}.${cursor.status ?? 'none'}`
}

function statusEvent(job: JobRecord, cursor: Cursor): JobEvent {
  return {
    id: formatCursor(cursor),
    event: 'status',
    data: {
      status: job.status, epoch: job.progressEpoch, epochs: job.epochs,
      stopped_early: job.status === 'succeeded' && job.progressEpoch < job.epochs,
      error: job.errorCode ? { code: job.errorCode, message: job.errorMessage ?? '' } : null,
    },
  }
}

function epochEvent(job: JobRecord, p: LossPoint, first: LossPoint | undefined, cursor: Cursor, progress: BatchProgress | undefined): JobEvent {
  // ETA from the pace since the first point of this stream's history.
  const perEpochMs = first && p.epoch > first.epoch ? (p.at - first.at) / (p.epoch - first.epoch) : null
  return {
    id: `${p.epoch}.${cursor.status ?? job.status}`,
    event: 'epoch',
    data: {
      epoch: p.epoch, epochs: job.epochs, loss: p.loss, val_loss: p.valLoss, lr: p.lr, metrics: p.metrics ?? {},
      at: msToIso(p.at), eta_seconds: perEpochMs === null ? null : Math.max(0, (job.epochs - p.epoch) * perEpochMs) / 1000,
      tokens_per_second: progress?.tokensPerSecond ?? null,
    },
  }
}

function progressEvent(job: JobRecord, p: BatchProgress): JobEvent {
  return {
    id: null,
    event: 'progress',
    data: { epoch: p.epoch, epochs: job.epochs, batch: p.batch, batches: p.batches, tokens_per_second: p.tokensPerSecond, at: msToIso(p.at) },
  }
}

/**
 * Follows one job from a cursor: each `read()` looks at storage once and returns the events
 * since the previous one (the cursor advances as they are returned).
 */
export class JobFollower {
  /** The last progress reported, so a stored row is reported once. */
  private progressAt = 0
  /** The job's first stored epoch: the ETA is the pace since then. */
  private first: LossPoint | undefined
  ended = false
  /** The last read stopped at MAX_POINTS_PER_READ: read again without waiting. */
  behind = false
  /** When the wait for storage last reported began (null: not waiting). */
  private waitingSince: number | null = null

  /** `storageWaits`: what a job training in this process waits for (JobRunner.storageWait). */
  constructor(readonly jobId: string, readonly cursor: Cursor, private readonly storage: Storage,
    private readonly storageWaits?: (jobId: string) => Readonly<StorageWait> | undefined) {}

  /** A `storage_wait` event when the job began or stopped waiting for its database since the last read. */
  private storageWaitEvent(): JobEvent[] {
    const wait = this.storageWaits?.(this.jobId)
    const since = wait?.since ?? null
    if (since === this.waitingSince) return []
    this.waitingSince = since
    return [{ id: null, event: 'storage_wait', data: { storage_wait: wait ? describeStorageWait(wait) : null } }]
  }

  /** Events since the last read; `ended` is set once the final status was returned or the job is gone. */
  async read(): Promise<JobEvent[]> {
    const { storage, cursor } = this
    const job = await storage.jobs.findById(this.jobId)
    if (!job) {
      this.ended = true
      return []
    }
    const events: JobEvent[] = []
    const finished = isFinishedStatus(job.status)
    if (!finished && job.status !== cursor.status) {
      cursor.status = job.status
      events.push(statusEvent(job, cursor))
    }
    // Read after the job: once it has finished, every epoch it will ever have is stored.
    // Only the points after the cursor (and the first one, once) are read.
    this.first ??= (await storage.losses.list(this.jobId, { afterEpoch: 0, limit: 1 }))[0]
    const [points, progress] = await Promise.all([
      storage.losses.list(this.jobId, { afterEpoch: cursor.epoch, limit: MAX_POINTS_PER_READ }),
      storage.progress.get(this.jobId),
    ])
    for (const p of points) {
      cursor.epoch = p.epoch
      events.push(epochEvent(job, p, this.first, cursor, progress))
    }
    // More points than one read takes: the rest on the next read (at once), before the job can end.
    this.behind = points.length === MAX_POINTS_PER_READ
    if (this.behind) return events
    if (!finished) events.push(...this.storageWaitEvent())
    if (finished) {
      if (job.status !== cursor.status) {
        cursor.status = job.status
        events.push(statusEvent(job, cursor))
      }
      this.ended = true
    } else if (progress && job.status === 'running' && progress.epoch === cursor.epoch + 1 && progress.batch < progress.batches && progress.at > this.progressAt) {
      this.progressAt = progress.at
      events.push(progressEvent(job, progress))
    }
    return events
  }
}

export interface JobEventOptions {
  storage: Storage
  wakeups: JobWakeups
  /** How often storage is read again without a wake-up. */
  pollMs: number
  signal: AbortSignal
  /** What a job training in this process waits for, for `storage_wait` events (JobRunner.storageWait). */
  storageWaits?: (jobId: string) => Readonly<StorageWait> | undefined
}

/** Events after `lastEventId` until the job ends (or `signal` aborts, or the job is deleted). */
export async function* jobEvents(jobId: string, lastEventId: string | undefined, options: JobEventOptions): AsyncGenerator<JobEvent> {
  const { storage, wakeups, pollMs, signal } = options
  const follower = new JobFollower(jobId, parseEventId(lastEventId), storage, options.storageWaits)
  while (!signal.aborted) {
    yield* await follower.read()
    if (follower.ended) return
    if (!follower.behind) await wakeups.wait(jobId, pollMs, signal)
  }
}
