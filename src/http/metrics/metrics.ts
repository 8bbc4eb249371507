import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { JobRunnerEvents } from '../../jobs/runner.js'
import type { PredictionService, ServingEvents } from '../../serving/prediction-service.js'
import type { Storage } from '../../storage/storage.js'
import { FastHistogram } from './fast-histogram.js'
import { JOB_STATUSES } from '../../storage/types.js'
import { isStorageFault } from '../../storage/errors.js'

/** Window over which the training throughput gauges average. */
const THROUGHPUT_WINDOW_S = 60

export interface Metrics {
  registry: Registry
  /** Passed to the JobRunner: lifecycle events become counters. */
  runnerEvents: JobRunnerEvents
  /** Passed to the PredictionService: batches, refusals and per-model latency. */
  servingEvents: ServingEvents
  observePredict(method: string, statusCode: number, seconds: number): void
  /** Model routes (cards, exports, registry, imports), by route pattern and status. */
  observeModelRequest(route: string, statusCode: number): void
}

/**
 * What a gauge read from the database at scrape time shows, or undefined (and the gauge left
 * without samples, not stale ones) when the database cannot be read: PostgreSQL down, a damaged
 * file. That must not fail the whole scrape: it is when operators need the other series
 * (seqserve_jobs_waiting_for_storage); /readyz says what is wrong.
 */
async function readOrOmit<T>(gauge: Gauge, read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read()
  } catch (err) {
    if (!isStorageFault(err)) throw err
    gauge.reset()
    return undefined
  }
}

/**
 * The service's Prometheus metrics, in a registry of their own (so several apps in one
 * process, as in tests, do not collide). Job counts by status are read from the database at
 * scrape time, so they are right even for jobs other processes changed.
 */
export function createMetrics(storage: Storage, serving: () => PredictionService, labels: { node: string; role: string }): Metrics {
  const registry = new Registry()
  // Every series names the node (and its role), so one Prometheus can scrape many nodes.
  registry.setDefaultLabels(labels)
  collectDefaultMetrics({ register: registry, prefix: 'seqserve_' })

  new Gauge({
    name: 'seqserve_jobs', help: 'Jobs by status', labelNames: ['status'], registers: [registry],
    async collect() {
      const counts = await readOrOmit(this, () => storage.jobs.countByStatus())
      if (counts !== undefined) for (const status of JOB_STATUSES) this.set({ status }, counts[status] ?? 0)
    },
  })
  const started = new Counter({ name: 'seqserve_jobs_started_total', help: 'Training runs started (first attempts and resumes)', registers: [registry] })
  const resumed = new Counter({ name: 'seqserve_jobs_resumed_total', help: 'Training runs that resumed a job after a crash, lapsed lease or restart', registers: [registry] })
  const finished = new Counter({ name: 'seqserve_jobs_finished_total', help: 'Training runs that ended, by outcome (succeeded, failed, cancelled, requeued at shutdown)', labelNames: ['outcome'], registers: [registry] })
  const epochs = new Counter({ name: 'seqserve_epochs_trained_total', help: 'Epochs trained', registers: [registry] })
  const tokens = new Counter({ name: 'seqserve_tokens_trained_total', help: 'Target values trained on (characters, series values or labels)', registers: [registry] })
  const waitingForStorage = new Gauge({
    name: 'seqserve_jobs_waiting_for_storage', help: 'Jobs training here that wait for a full or unavailable database to take their progress (STORAGE_PAUSE_MAX_MS)', registers: [registry],
  })
  const storageWaits = new Counter({
    name: 'seqserve_storage_waits_total', help: 'Waits of jobs for a full or unavailable database, by how they ended (resumed, failed, abandoned at shutdown)', labelNames: ['outcome'], registers: [registry],
  })
  const queueWait = new Histogram({
    name: 'seqserve_queue_wait_seconds', help: 'Time from submission to the first start of a job', registers: [registry],
    buckets: [0.01, 0.1, 0.5, 1, 5, 15, 60, 300, 1800, 3600],
  })
  // Observed on every prediction: the fast histogram (same series as prom-client's).
  const predictLatency = new FastHistogram('seqserve_predict_duration_seconds', 'Prediction request latency (GET: one input, POST: a batch)', ['method', 'status_code'],
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registry)
  new Counter({
    name: 'seqserve_model_cache_hits_total', help: 'Predictions (batches, on a worker) served by a model already in memory', registers: [registry],
    collect() { this.reset(); this.inc(serving().cacheStats().hits) },
  })
  new Counter({
    name: 'seqserve_model_cache_misses_total', help: 'Predictions (batches, on a worker) that loaded the model from its checkpoint', registers: [registry],
    collect() { this.reset(); this.inc(serving().cacheStats().misses) },
  })
  new Gauge({
    name: 'seqserve_model_cache_bytes', help: 'Bytes of decoded models held by the inference workers and the main thread (MODEL_CACHE_BYTES is the budget)', registers: [registry],
    collect() { this.set(serving().cacheStats().bytes) },
  })
  new Gauge({
    name: 'seqserve_predict_queue_depth', help: 'Prediction requests waiting for an inference worker', registers: [registry],
    collect() { this.set(serving().batcher.depth) },
  })
  new Gauge({
    name: 'seqserve_predict_workers_busy', help: 'Inference workers running a batch', registers: [registry],
    collect() { this.set(serving().pool.busy) },
  })
  new Counter({
    name: 'seqserve_predict_worker_restarts_total', help: 'Inference workers replaced (ignored a deadline or crashed)', registers: [registry],
    collect() { this.reset(); this.inc(serving().pool.restarts) },
  })
  const batchRows = new Histogram({
    name: 'seqserve_predict_batch_rows', help: 'Rows per batched forward (micro-batching)', registers: [registry],
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
  })
  const batchRequests = new Histogram({
    name: 'seqserve_predict_batch_requests', help: 'Requests merged into one batched forward', registers: [registry],
    buckets: [1, 2, 4, 8, 16, 32, 64],
  })
  const inline = new Counter({
    name: 'seqserve_predict_inline_total', help: 'Predictions so cheap they ran on the main thread (PREDICT_INLINE_MAX_COST)', registers: [registry],
  })
  const refused = new Counter({
    name: 'seqserve_predict_refused_total', help: 'Predictions refused or cut short, by code (predict_too_costly, overloaded, predict_timeout)', labelNames: ['code'], registers: [registry],
  })
  const modelLatency = new FastHistogram('seqserve_model_predict_duration_seconds', 'Successful prediction latency per model (queueing included)', ['model'],
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5], registry)

  const modelRequests = new Counter({
    name: 'seqserve_model_requests_total', help: 'Requests to the model routes (cards, exports, registry, imports) by route and status', labelNames: ['route', 'status_code'], registers: [registry],
  })
  new Gauge({
    name: 'seqserve_model_versions', help: 'Model versions in the registry, by source (job: trained here; import)', labelNames: ['source'], registers: [registry],
    async collect() {
      const models = await readOrOmit(this, () => storage.models.list())
      if (models === undefined) return
      const versions = models.flatMap((m) => m.versions)
      for (const source of ['job', 'import'] as const) this.set({ source }, versions.filter((v) => v.source === source).length)
    },
  })

  const throughput = new Throughput(THROUGHPUT_WINDOW_S)
  new Gauge({
    name: 'seqserve_epochs_per_second', help: `Epochs trained per second over the last ${THROUGHPUT_WINDOW_S} s`, registers: [registry],
    collect() { this.set(throughput.rate(Date.now()).epochs) },
  })
  new Gauge({
    name: 'seqserve_tokens_per_second', help: `Target values trained per second over the last ${THROUGHPUT_WINDOW_S} s`, registers: [registry],
    collect() { this.set(throughput.rate(Date.now()).tokens) },
  })

  return {
    registry,
    runnerEvents: {
      started(job, resumedFromEpoch) {
        started.inc()
        if (job.attempt > 1 || resumedFromEpoch > 0) resumed.inc()
        else queueWait.observe((Date.now() - job.createdAt) / 1000)
      },
      epoch(_jobId, _epoch, trained) {
        epochs.inc()
        tokens.inc(trained)
        throughput.add(Date.now(), trained)
      },
      finished(_jobId, outcome) {
        finished.inc({ outcome })
      },
      storageWait(_jobId, state) {
        if (state === 'waiting') return waitingForStorage.inc()
        waitingForStorage.dec()
        storageWaits.inc({ outcome: state })
      },
    },
    servingEvents: {
      batch(requests, rows) {
        batchRequests.observe(requests)
        batchRows.observe(rows)
      },
      inline() {
        inline.inc()
      },
      refused(code) {
        refused.inc({ code })
      },
      served(model, seconds) {
        modelLatency.observe({ model }, seconds)
      },
    },
    observePredict(method, statusCode, seconds) {
      predictLatency.observe({ method, status_code: String(statusCode) }, seconds)
    },
    observeModelRequest(route, statusCode) {
      modelRequests.inc({ route, status_code: String(statusCode) })
    },
  }
}

/** Epochs and tokens in one-second buckets over a sliding window (constant memory). */
class Throughput {
  private readonly seconds: Float64Array
  private readonly epochs: Float64Array
  private readonly tokens: Float64Array

  constructor(private readonly window: number) {
    this.seconds = new Float64Array(window).fill(-1)
    this.epochs = new Float64Array(window)
    this.tokens = new Float64Array(window)
  }

  add(nowMs: number, tokens: number): void {
    const second = Math.floor(nowMs / 1000)
    const i = second % this.window
    if (this.seconds[i] !== second) {
      this.seconds[i] = second
      this.epochs[i] = 0
      this.tokens[i] = 0
    }
    this.epochs[i]++
    this.tokens[i] += tokens
  }

  rate(nowMs: number): { epochs: number; tokens: number } {
    const now = Math.floor(nowMs / 1000)
    let epochs = 0
    let tokens = 0
    for (let i = 0; i < this.window; i++) {
      if (this.seconds[i] > now - this.window) {
        epochs += this.epochs[i]
        tokens += this.tokens[i]
      }
    }
    return { epochs: epochs / this.window, tokens: tokens / this.window }
  }
}
