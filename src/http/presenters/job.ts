import type { CheckpointMeta, JobRecord, JobSummary, LossPoint } from '../../storage/types.js'
import { msToIso } from '../../storage/types.js'
import type { StorageWait } from '../../jobs/persist-retry.js'
import type { JobBody } from '../schemas/jobs.js'

/** Settings a job shows when its stored spec predates them (schemas/jobs.ts `storedDefaults`). */
export interface SpecDefaults {
  model: Record<string, unknown>
  training: Record<string, unknown>
}

/** Only early stopping ends a job successfully before its epoch limit. */
export function stoppedEarly(job: JobRecord | JobSummary): boolean {
  return job.status === 'succeeded' && job.progressEpoch < job.epochs
}

/**
 * The public JSON of a job (snake_case, ISO times, a data summary instead of the data).
 * `storageWait`: what the job waits for, when this process trains it and its database refuses its writes.
 */
export function presentJob(job: JobRecord | JobSummary, checkpoint: CheckpointMeta | undefined, defaults: SpecDefaults, storageWait?: Readonly<StorageWait>): JobBody {
  return {
    id: job.id,
    name: job.name,
    status: job.status,
    model: { ...defaults.model, ...(job.spec.model as object) } as JobBody['model'],
    training: { ...defaults.training, ...(job.spec.training as object) } as JobBody['training'],
    data: job.dataSummary as JobBody['data'],
    progress: { epoch: job.progressEpoch, epochs: job.epochs },
    stopped_early: stoppedEarly(job),
    cancel_requested: job.cancelRequested,
    loss: job.loss,
    best_loss: job.bestLoss,
    error: job.errorCode ? { code: job.errorCode, message: job.errorMessage ?? '' } : null,
    attempt: job.attempt,
    checkpoint: checkpoint ? { epoch: checkpoint.epoch, created_at: msToIso(checkpoint.createdAt) } : null,
    storage_wait: storageWait && job.status === 'running' ? presentStorageWait(storageWait) : null,
    created_at: msToIso(job.createdAt),
    started_at: msToIso(job.startedAt),
    finished_at: msToIso(job.finishedAt),
  }
}

function presentStorageWait(wait: Readonly<StorageWait>): NonNullable<JobBody['storage_wait']> {
  return {
    since: msToIso(wait.since), code: wait.code, reason: wait.problem, pending: wait.pending,
    what_to_do: `${wait.advice}. Nothing is lost: the job resumes by itself once the database takes writes again.`, fails_at: msToIso(wait.failsAt),
  }
}

export interface LossBody {
  epoch: number
  loss: number
  val_loss?: number
  lr?: number
  metrics?: Record<string, number>
  at: string
}

export function presentLoss(point: LossPoint): LossBody {
  return {
    epoch: point.epoch,
    loss: point.loss,
    ...(point.valLoss !== null && { val_loss: point.valLoss }),
    ...(point.lr !== null && { lr: point.lr }),
    ...(point.metrics !== null && { metrics: point.metrics }),
    at: msToIso(point.at),
  }
}

/** `epoch,loss,val_loss,at,lr`, then one column per metric the points carry (sorted by name). */
export function lossesCsv(points: readonly LossPoint[]): string {
  const metricNames = [...new Set(points.flatMap((p) => Object.keys(p.metrics ?? {})))].sort()
  const rows = points.map((p) => [
    p.epoch, p.loss, p.valLoss ?? '', msToIso(p.at), p.lr ?? '', ...metricNames.map((m) => p.metrics?.[m] ?? ''),
  ].join(','))
  return [['epoch', 'loss', 'val_loss', 'at', 'lr', ...metricNames].join(','), ...rows].join('\n') + '\n'
}
