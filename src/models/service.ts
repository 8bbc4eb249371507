/**
 * The models service: turns stored jobs into model sources and their artifacts, so routes
 * neither decode checkpoints nor read storage themselves.
 */
import { decodeCheckpoint } from '../engine/tasks/checkpoint.js'
import type { Storage } from '../storage/storage.js'
import { type JobRecord, msToIso } from '../storage/types.js'
import type { StateDict } from '../engine/params.js'
import { type ModelArtifacts, type ModelSource, buildArtifacts, buildOnnx, stateTensors } from './artifacts.js'

export class JobNotFoundError extends Error {
  constructor(readonly jobId: string) {
    super(`No job with id ${jobId}`)
    this.name = 'JobNotFoundError'
  }
}

/** The job has no checkpoint yet: nothing to describe or export. */
export class NoCheckpointError extends Error {
  constructor(readonly job: JobRecord) {
    super(`Job ${job.id} is ${job.status} and has no checkpoint yet`)
    this.name = 'NoCheckpointError'
  }
}

/** Where a fine-tuned job started (its stored, resolved training.init_from). */
function initFromOf(job: JobRecord): { initFrom?: { model: string; version: number } } {
  const ref = (job.spec as { training?: { init_from?: unknown } }).training?.init_from
  if (typeof ref !== 'object' || ref === null) return {}
  const { model, version } = ref as { model: unknown; version: unknown }
  return typeof model === 'string' && typeof version === 'number' ? { initFrom: { model, version } } : {}
}

export class ModelsService {
  constructor(private readonly storage: Storage, private readonly producerVersion: string) {}

  /** The model of a job's latest checkpoint (the final one once it succeeded). */
  async sourceForJob(jobId: string): Promise<ModelSource> {
    const job = await this.storage.jobs.findById(jobId)
    if (!job) throw new JobNotFoundError(jobId)
    const record = await this.storage.checkpoints.latest(job.id)
    if (!record) throw new NoCheckpointError(job)
    const c = decodeCheckpoint(new Uint8Array(record.blob.buffer, record.blob.byteOffset, record.blob.byteLength))
    const losses = (await this.storage.losses.list(job.id)).filter((p) => p.epoch <= c.epoch)
    return {
      name: job.name,
      job: {
        kind: job.dataSummary.type === 'import' ? 'import' : 'job',
        id: job.id, status: job.status, createdAt: msToIso(job.createdAt), finishedAt: msToIso(job.finishedAt),
        training: job.spec.training as Record<string, unknown>, dataSummary: job.dataSummary,
        ...initFromOf(job),
      },
      meta: c.meta, model: c.model, dtype: c.dtype, params: Float64Array.from(c.params),
      epoch: c.epoch, loss: c.loss, bestLoss: c.bestLoss, valLosses: losses.map((p) => p.valLoss),
    }
  }

  async artifactsForJob(jobId: string): Promise<ModelArtifacts & { source: ModelSource }> {
    const source = await this.sourceForJob(jobId)
    return { source, ...buildArtifacts(source) }
  }

  /** The JSON export: `{name: {shape, data}}` with PyTorch names. */
  stateDict(source: ModelSource): StateDict {
    return Object.fromEntries(stateTensors(source.model, source.params).map((t) => [t.name, { shape: t.shape, data: Array.from(t.data) }]))
  }

  async onnxForJob(jobId: string, state: boolean): Promise<{ source: ModelSource; onnx: Uint8Array }> {
    const { source, card } = await this.artifactsForJob(jobId)
    return { source, onnx: buildOnnx(source, card, { state, producerVersion: this.producerVersion }) }
  }
}
