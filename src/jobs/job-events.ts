/**
 * The events of one job, as Server-Sent Events read from what is persisted: `status` when
 * the job's status changes, `epoch` for every finished epoch (loss, val_loss, lr, metrics,
 * ETA), and a last `status` when it ends. Event ids are `<epoch>.<status>`: the last epoch
 * and status the client has seen, so a reconnect with Last-Event-ID continues without gaps
 * or repeats, whichever process trains the job.
 */
import type { Storage } from '../storage/storage.js'
import { isFinishedStatus, type JobRecord, type JobStatus, type LossPoint, msToIso } from '../storage/types.js'
import type { JobWakeups } from './wakeups.js'

export interface JobEvent {
  id: string
  event: 'status' | 'epoch'
  data: Record<string, unknown>
}

interface Cursor {
  epoch: number
  status: JobStatus | null
}

/** Last-Event-ID -> where to continue; anything unreadable starts from the beginning. */
export function parseEventId(id: string | undefined): Cursor {
  const match = /^(\d{1,9})\.([a-z]+)$/.exec(id ?? '')
  return match ? { epoch: Number(match[1]), status: match[2] as JobStatus } : { epoch: 0, status: null }
}

function statusEvent(job: JobRecord, cursor: Cursor): JobEvent {
  return {
    id: `${cursor.epoch}.${job.status}`,
    event: 'status',
    data: {
      status: job.status, epoch: job.progressEpoch, epochs: job.epochs,
      stopped_early: job.status === 'succeeded' && job.progressEpoch < job.epochs,
      error: job.errorCode ? { code: job.errorCode, message: job.errorMessage ?? '' } : null,
    },
  }
}

function epochEvent(job: JobRecord, p: LossPoint, first: LossPoint | undefined, status: JobStatus | null): JobEvent {
  // ETA from the pace since the first point of this stream's history.
  const perEpochMs = first && p.epoch > first.epoch ? (p.at - first.at) / (p.epoch - first.epoch) : null
  return {
    id: `${p.epoch}.${status ?? job.status}`,
    event: 'epoch',
    data: {
      epoch: p.epoch, epochs: job.epochs, loss: p.loss, val_loss: p.valLoss, lr: p.lr, metrics: p.metrics ?? {},
      at: msToIso(p.at), eta_seconds: perEpochMs === null ? null : Math.max(0, (job.epochs - p.epoch) * perEpochMs) / 1000,
    },
  }
}

export interface JobEventOptions {
  storage: Storage
  wakeups: JobWakeups
  /** How often storage is read again without a wake-up. */
  pollMs: number
  signal: AbortSignal
}

/** Events after `lastEventId` until the job ends (or `signal` aborts, or the job is deleted). */
export async function* jobEvents(jobId: string, lastEventId: string | undefined, options: JobEventOptions): AsyncGenerator<JobEvent> {
  const { storage, wakeups, pollMs, signal } = options
  const cursor = parseEventId(lastEventId)
  while (!signal.aborted) {
    const job = await storage.jobs.findById(jobId)
    if (!job) return
    const finished = isFinishedStatus(job.status)
    if (!finished && job.status !== cursor.status) {
      cursor.status = job.status
      yield statusEvent(job, cursor)
    }
    // Read after the job: once it has finished, every epoch it will ever have is stored.
    const points = await storage.losses.list(jobId)
    for (const p of points) {
      if (p.epoch <= cursor.epoch) continue
      cursor.epoch = p.epoch
      yield epochEvent(job, p, points[0], cursor.status)
    }
    if (finished) {
      if (job.status !== cursor.status) {
        cursor.status = job.status
        yield statusEvent(job, cursor)
      }
      return
    }
    await wakeups.wait(jobId, pollMs, signal)
  }
}
