import type { ServingConfig } from '../config.js'
import { decodeCheckpointHeader } from '../engine/tasks/checkpoint.js'
import { InferencePool } from '../pool/inference-pool.js'
import { type Budget, admit, estimate } from './admission.js'
import { ServingError } from './errors.js'
import { MicroBatcher } from './micro-batcher.js'
import { ModelCache } from './model-cache.js'
import { ResolutionCache } from './resolution-cache.js'
import { runRows } from './run-rows.js'
import type { BatchPredictor } from '../engine/tasks/batch-predictor.js'
import type { InferenceOutputs } from '../pool/inference-protocol.js'
import { type PredictInput, type PredictionResult, type PredictOptions, type PreparedRows, type ServedModel, prepareRows, presentOutputs, servedModel } from './prediction.js'

/** A job as serving needs it. */
export interface ServableJob {
  id: string
  name: string
  status: string
}

/** A model version as the registry names it (src/models/registry.ts). */
export interface ServedVersion {
  name: string
  version: number
  alias: string | null
}

/**
 * Where models come from: storage and the model registry, behind a narrow async interface
 * (SQLite or PostgreSQL). The registry's refusals (RegistryError) pass through unchanged.
 */
export interface ModelSource {
  findJob(id: string): Promise<ServableJob | undefined>
  /** `model` is NAME (its highest version) or NAME@ALIAS; `version` pins a version of NAME. */
  resolveModel(model: string, version?: number): Promise<ServedVersion & { jobId: string }>
  /** The registry version a job is, if it is one. */
  versionOf(jobId: string): Promise<ServedVersion | undefined>
  /** The encoded final checkpoint, or undefined when the job has none. */
  finalCheckpoint(jobId: string): Promise<Uint8Array | undefined>
}

export interface ServingEvents {
  batch(requests: number, rows: number): void
  /** A prediction ran on the main thread (cheaper than the hop to a worker). */
  inline(): void
  /** A request refused before it ran (predict_too_costly, overloaded) or timed out. */
  refused(code: 'predict_too_costly' | 'overloaded' | 'predict_timeout'): void
  served(model: string, seconds: number): void
}

/**
 * The serving settings (src/config.ts ServingConfig, read from the PREDICT_* variables) plus
 * what the app wires in: where models come from and who hears about batches and refusals.
 */
export interface ServingOptions extends ServingConfig {
  source: ModelSource
  /** Deprecated MODEL_CACHE_SIZE */
  cacheModels?: number
  events?: ServingEvents
}

/** `{job}`, or `{model}` (NAME, NAME@ALIAS), optionally with `version` (of NAME). */
export interface Selector {
  job?: string
  model?: string
  version?: number
}

/** The resolution cache's key of a valid selector; refuses an invalid one. */
function selectorKey(selector: Selector): string {
  if ((selector.job === undefined) === (selector.model === undefined)) {
    throw new ServingError('validation_failed', 'give exactly one of job (a job id) or model (NAME, NAME@ALIAS, or NAME with version)')
  }
  if (selector.job !== undefined) {
    if (selector.version !== undefined) throw new ServingError('validation_failed', 'version selects a version of a model: give model=NAME with it, not job')
    return `job\0${selector.job}`
  }
  return `model\0${selector.model!}\0${selector.version ?? ''}`
}

export interface ResolvedModel {
  job: ServableJob
  model: ServedModel
  /** What served: the model name, its registry version and the alias used (null when none). */
  served: { model: string; version: number | null; alias: string | null }
}

/** Headers of models the main thread remembers (a few hundred bytes each; weights stay in the workers). */
const MAX_MODEL_HEADERS = 1024
/** Only models this small are ever decoded on the main thread (an 8-unit RNN has ~100 parameters). */
const INLINE_MAX_PARAMETERS = 100_000

export interface CacheStats {
  hits: number
  misses: number
  models: number
  bytes: number
}

/**
 * Predictions over the inference pool: resolves a job or model name to a model, validates
 * the inputs, admits the request by its estimated cost, and queues it for the micro-batcher,
 * whose batches run on the inference workers. The event loop never runs a forward pass.
 */
export class PredictionService {
  readonly pool: InferencePool
  readonly batcher: MicroBatcher
  private readonly headers = new Map<string, ServedModel>()
  private readonly resolutions: ResolutionCache<ResolvedModel>
  /** Tiny models served on the main thread: one share of MODEL_CACHE_BYTES, the workers split the rest. */
  private readonly inline: ModelCache

  /** PREDICT_MAX_COST and PREDICT_MAX_MEMORY_BYTES: what one request (and one batch) may take. */
  readonly budget: Budget

  constructor(private readonly options: ServingOptions) {
    this.budget = { maxCost: options.maxCost, maxMemoryBytes: options.maxMemoryBytes }
    this.resolutions = new ResolutionCache(options.resolveTtlMs)
    const share = Math.floor(options.modelCacheBytes / (options.workers + 1))
    this.inline = new ModelCache(share, options.cacheModels)
    this.batcher = new MicroBatcher({
      maxRows: options.batchRows,
      delayMs: options.batchDelayMs,
      maxPending: options.queueLimit,
      budget: this.budget,
      onBatch: options.events?.batch,
    })
    this.pool = new InferencePool({
      size: options.workers,
      cacheBytes: options.modelCacheBytes - share,
      cacheModels: options.cacheModels,
      source: this.batcher,
      stopGraceMs: options.stopGraceMs,
      nice: options.workerNice,
      loadCheckpoint: (jobId) => this.checkpoint(jobId),
    })
    this.batcher.attach(() => this.pool.wake())
  }


  /**
   * `{job}`, or `{model}` resolved through the registry (NAME = its highest version,
   * NAME@ALIAS, or NAME with `version`) -> a servable model and the version it is.
   */
  async resolve(selector: Selector): Promise<ResolvedModel> {
    const key = selectorKey(selector)
    const cached = this.resolutions.get(key)
    if (cached) return cached
    const generation = this.resolutions.begin()
    const resolved = await this.lookUp(selector)
    this.resolutions.set(key, resolved, generation)
    return resolved
  }

  /**
   * What `resolve` answers, when it is remembered (PREDICT_RESOLVE_TTL_MS), without a trip
   * through the event loop: the hot path of a busy model. Undefined: call `resolve`.
   */
  resolved(selector: Selector): ResolvedModel | undefined {
    return this.resolutions.get(selectorKey(selector))
  }

  /**
   * The registry or this process changed which version a name or alias means (a version
   * imported or trained, an alias moved): resolve selectors afresh.
   */
  modelsChanged(): void {
    this.resolutions.clear()
  }

  private async lookUp(selector: Selector): Promise<ResolvedModel> {
    const { source } = this.options
    let version: ServedVersion | undefined
    let jobId: string
    if (selector.model !== undefined) {
      const resolved = await source.resolveModel(selector.model, selector.version)
      version = resolved
      jobId = resolved.jobId
    } else {
      jobId = selector.job!
    }
    const job = await source.findJob(jobId)
    if (!job) throw new ServingError('job_not_found', `No job with id ${jobId}`)
    if (job.status !== 'succeeded') {
      throw new ServingError('job_not_succeeded', `Job ${job.id} is ${job.status}; predictions need a succeeded job`, { status: job.status })
    }
    const model = await this.model(job)
    version ??= await source.versionOf(job.id)
    return { job, model, served: { model: version?.name ?? job.name, version: version?.version ?? null, alias: version?.alias ?? null } }
  }

  /**
   * Runs `inputs` through the model (one result per input). A cheap request for a model so
   * small that the hop to a worker would cost more than its forward pass runs on this thread;
   * when this thread already holds its weights the results come back at once, not as a
   * promise (the seed model's hot path: no promise, no microtask). Everything else is queued
   * for the micro-batcher, whose batches run on the inference workers.
   */
  predict(model: ServedModel, inputs: readonly PredictInput[], options: PredictOptions): PredictionResult[] | Promise<PredictionResult[]> {
    const started = performance.now()
    const { rows, shapes, seeds } = prepareRows(model, inputs, options)
    const estimated = estimate(model.cost, shapes)
    try {
      admit(estimated, this.budget)
    } catch (err) {
      this.refused(err)
    }
    if (estimated.cost <= this.options.inlineMaxCost && model.parameterCount <= INLINE_MAX_PARAMETERS) {
      // Measured: for the smallest models the hop to a worker costs the event loop more
      // than the forward pass itself (README "Serving").
      const held = this.inline.get(model.jobId)
      if (held) return this.runInline(held, model, inputs, { rows, shapes, seeds }, started)
      return this.checkpoint(model.jobId).then((blob) => this.runInline(this.inline.load(model.jobId, blob), model, inputs, { rows, shapes, seeds }, started))
    }
    return this.onWorkers(model, inputs, { rows, shapes, seeds }, started)
  }

  private runInline(predictor: BatchPredictor, model: ServedModel, inputs: readonly PredictInput[], { rows, seeds }: PreparedRows, started: number): PredictionResult[] {
    const outputs = runRows(predictor, rows, Number.POSITIVE_INFINITY)
    this.options.events?.inline()
    return this.served(model, inputs, outputs, seeds, started)
  }

  private async onWorkers(model: ServedModel, inputs: readonly PredictInput[], { rows, shapes, seeds }: PreparedRows, started: number): Promise<PredictionResult[]> {
    // Deadlines count once the workers are up: only the very first predictions of a
    // process wait for them (main.ts starts them with the server).
    await this.pool.start()
    let outputs: InferenceOutputs
    try {
      outputs = await this.batcher.submit({ jobId: model.jobId, rows, shapes, model: model.cost, deadline: Date.now() + this.options.timeoutMs })
    } catch (err) {
      this.refused(err)
    }
    return this.served(model, inputs, outputs, seeds, started)
  }

  private served(model: ServedModel, inputs: readonly PredictInput[], outputs: InferenceOutputs, seeds: PreparedRows['seeds'], started: number): PredictionResult[] {
    const results = presentOutputs(model, inputs, outputs, seeds)
    this.options.events?.served(model.name, (performance.now() - started) / 1000)
    return results
  }

  /** Rethrows `err`, counting it when it is a refusal (too costly, overloaded, timed out). */
  private refused(err: unknown): never {
    if (err instanceof ServingError && (err.code === 'predict_too_costly' || err.code === 'overloaded' || err.code === 'predict_timeout')) this.options.events?.refused(err.code)
    throw err
  }

  /** Model cache counters over the main thread's and the workers' caches. */
  cacheStats(): CacheStats {
    const { pool, inline } = this
    return { hits: pool.hits + inline.hits, misses: pool.misses + inline.misses, models: pool.cachedModels + inline.size, bytes: pool.cacheBytes + inline.bytes }
  }

  /** Forgets a deleted job's model, here and in every worker. */
  evict(jobId: string): void {
    this.resolutions.clear()
    this.headers.delete(jobId)
    this.inline.evict(jobId)
    this.pool.evict(jobId)
  }

  async close(): Promise<void> {
    await this.pool.close()
  }

  private async checkpoint(jobId: string): Promise<Uint8Array> {
    const blob = await this.options.source.finalCheckpoint(jobId)
    if (!blob) throw new ServingError('job_not_succeeded', `Job ${jobId} has no final checkpoint`)
    return blob
  }

  private async model(job: ServableJob): Promise<ServedModel> {
    const cached = this.headers.get(job.id)
    if (cached) return cached
    const blob = await this.options.source.finalCheckpoint(job.id)
    if (!blob) throw new ServingError('job_not_succeeded', `Job ${job.id} has no final checkpoint`, { status: job.status })
    const model = servedModel(job.id, job.name, decodeCheckpointHeader(blob))
    this.headers.set(job.id, model)
    if (this.headers.size > MAX_MODEL_HEADERS) this.headers.delete(this.headers.keys().next().value!)
    return model
  }
}
