import type { CheckpointMeta, JobRecord, JobSummary, LossPoint } from '../../storage/types.js'
import { msToIso } from '../../storage/types.js'
import type { JobBody } from '../schemas/jobs.js'

/** Settings a job shows when its stored spec predates them (schemas/jobs.ts `storedDefaults`). */
export interface SpecDefaults {
  model: Record<string, unknown>
  training: Record<string, unknown>
}

/** The public JSON of a job (snake_case, ISO times, a data summary instead of the data). */
export function presentJob(job: JobRecord | JobSummary, checkpoint: CheckpointMeta | undefined, defaults: SpecDefaults): JobBody {
  return {
    id: job.id,
    name: job.name,
    status: job.status,
    model: { ...defaults.model, ...(job.spec.model as object) } as JobBody['model'],
    training: { ...defaults.training, ...(job.spec.training as object) } as JobBody['training'],
    data: job.dataSummary as JobBody['data'],
    progress: { epoch: job.progressEpoch, epochs: job.epochs },
    loss: job.loss,
    best_loss: job.bestLoss,
    error: job.errorCode ? { code: job.errorCode, message: job.errorMessage ?? '' } : null,
    attempt: job.attempt,
    checkpoint: checkpoint ? { epoch: checkpoint.epoch, created_at: msToIso(checkpoint.createdAt) } : null,
    created_at: msToIso(job.createdAt),
    started_at: msToIso(job.startedAt),
    finished_at: msToIso(job.finishedAt),
  }
}

export function presentLoss(point: LossPoint): { epoch: number; loss: number; val_loss?: number; at: string } {
  return point.valLoss === null
    ? { epoch: point.epoch, loss: point.loss, at: msToIso(point.at) }
    : { epoch: point.epoch, loss: point.loss, val_loss: point.valLoss, at: msToIso(point.at) }
}

export function lossesCsv(points: readonly LossPoint[]): string {
  const rows = points.map((p) => `${p.epoch},${p.loss},${p.valLoss ?? ''},${msToIso(p.at)}`)
  return ['epoch,loss,val_loss,at', ...rows].join('\n') + '\n'
}
