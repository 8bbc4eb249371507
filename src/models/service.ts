/**
 * The models service: turns stored jobs into model sources and their artifacts, so routes
 * neither decode checkpoints nor read storage themselves.
 */
import { decodeCheckpoint } from '../engine/tasks/checkpoint.js'
import type { Storage } from '../storage/storage.js'
import { type JobRecord, msToIso } from '../storage/types.js'
import type { StateDict } from '../engine/params.js'
import { type ModelArtifacts, type ModelSource, buildArtifacts, buildOnnx, stateTensors } from './artifacts.js'
import { ExportCache } from './export-cache.js'

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

/** Default EXPORT_CACHE_BYTES. */
export const DEFAULT_EXPORT_CACHE_BYTES = 64 * 1024 * 1024

type Artifacts = ModelArtifacts & { source: ModelSource }

export class ModelsService {
  /**
   * Exports of succeeded jobs, by `<job id>:artifacts` and `<job id>:onnx:<state>`. The job is
   * still looked up on every request, so a deleted job is never served from here.
   */
  readonly cache: ExportCache<Artifacts | Uint8Array>

  constructor(private readonly storage: Storage, private readonly producerVersion: string, cacheBytes = DEFAULT_EXPORT_CACHE_BYTES) {
    this.cache = new ExportCache(cacheBytes)
  }

  private async findJob(jobId: string): Promise<JobRecord> {
    const job = await this.storage.jobs.findById(jobId)
    if (!job) throw new JobNotFoundError(jobId)
    return job
  }

  /** The model of a job's latest checkpoint (the final one once it succeeded). */
  async sourceForJob(jobId: string): Promise<ModelSource> {
    return this.sourceOf(await this.findJob(jobId))
  }

  private async sourceOf(job: JobRecord): Promise<ModelSource> {
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
      meta: c.meta, model: c.model, dtype: c.dtype, ...(job.dataSummary.type === 'import' ? {} : { kernels: c.kernels }), params: Float64Array.from(c.params),
      epoch: c.epoch, loss: c.loss, bestLoss: c.bestLoss, valLosses: losses.map((p) => p.valLoss),
    }
  }

  /** The card and safetensors file (built once per succeeded job while the cache holds them). */
  async artifactsForJob(jobId: string): Promise<Artifacts> {
    const job = await this.findJob(jobId)
    const key = `${job.id}:artifacts`
    const cached = job.status === 'succeeded' ? this.cache.get(key) as Artifacts | undefined : undefined
    if (cached) return cached
    const source = await this.sourceOf(job)
    const built = { source, ...buildArtifacts(source) }
    // The weights twice (decoded and in the file) and the card's JSON, roughly.
    if (job.status === 'succeeded') this.cache.set(key, built, source.params.byteLength + built.safetensors.byteLength + 2 * JSON.stringify(built.card).length)
    return built
  }

  /** Drops a deleted job's exports at once (they would never be served again anyway). */
  evict(jobId: string): void {
    this.cache.deletePrefix(`${jobId}:`)
  }

  /** The JSON export: `{name: {shape, data}}` with PyTorch names. */
  stateDict(source: ModelSource): StateDict {
    return Object.fromEntries(stateTensors(source.model, source.params).map((t) => [t.name, { shape: t.shape, data: Array.from(t.data) }]))
  }

  async onnxForJob(jobId: string, state: boolean): Promise<{ source: ModelSource; onnx: Uint8Array }> {
    const { source, card } = await this.artifactsForJob(jobId)
    const key = `${jobId}:onnx:${state}`
    const immutable = source.job.status === 'succeeded'
    const cached = immutable ? this.cache.get(key) as Uint8Array | undefined : undefined
    if (cached) return { source, onnx: cached }
    const onnx = buildOnnx(source, card, { state, producerVersion: this.producerVersion })
    if (immutable) this.cache.set(key, onnx, onnx.byteLength)
    return { source, onnx }
  }
}
