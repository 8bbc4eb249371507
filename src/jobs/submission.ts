import { createHash } from 'node:crypto'
import type { Limits } from '../config.js'
import type { DataSpec, JobSpec, ModelSpec, TrainingSpec } from '../engine/tasks/spec.js'
import { BaseModelMismatchError, DataError, type PreparedTask, prepareTask, summarizeData } from '../engine/tasks/task.js'
import { TrainingConfigError, resolveTrainingConfig } from '../engine/tasks/training-config.js'
import { TrainingMemoryError, chooseTrainingKernels, trainingMemory } from '../engine/tasks/training-memory.js'
import { type InitSource, architectureDifferences, describeInitFrom } from './init-from.js'
import { modelFootprint } from './model-footprint.js'

/** A job request that cannot be accepted; `code` is an HTTP error code of the catalogue. */
export class SubmissionError extends Error {
  constructor(readonly code: 'validation_failed' | 'invalid_data' | 'limit_exceeded' | 'init_from_mismatch' | 'model_too_large', message: string) {
    super(message)
    this.name = 'SubmissionError'
  }
}

export interface Submission {
  name: string
  spec: JobSpec
  dataSummary: Record<string, unknown>
  /** Hash of the normalised request, compared when an Idempotency-Key is reused. */
  requestHash: string
}

/**
 * Turns a schema-validated (defaults filled) POST /jobs body into a job: checks what a
 * schema cannot (cross-field rules, dataset totals) and that the data can train the model.
 * `init` is training.init_from resolved (init-from.ts): the job must have its architecture
 * and its data fit the model's vocabulary, labels or features; the job stores the version.
 */
export function acceptSubmission(body: { name?: string; model: ModelSpec; data: DataSpec; training?: TrainingSpec }, limits: Limits, init?: InitSource): Submission {
  const { model, data } = body
  const training = body.training!
  if (model.proj_size > 0 && model.type !== 'lstm') throw new SubmissionError('validation_failed', 'body/model/proj_size is only supported when model.type is "lstm"')
  if (model.proj_size >= model.hidden_size && model.proj_size > 0) {
    throw new SubmissionError('validation_failed', `body/model/proj_size must be smaller than hidden_size (${model.hidden_size})`)
  }
  checkDatasetSize(data, limits)
  let spec: JobSpec = { model, data, training }
  if (init && init.meta.kind !== data.type) {
    throw new SubmissionError('init_from_mismatch', `training.init_from (${describeInitFrom(training.init_from!)}) is a ${init.meta.kind} model; data.type is ${JSON.stringify(data.type)}`)
  }
  let task
  try {
    task = prepareTask(spec, init?.meta)
    // Monitors and modes the task implies are filled in, so the stored job shows them.
    spec = { ...spec, training: resolveTrainingConfig(training, task) }
    const differences = init ? architectureDifferences(task.model, init.config) : []
    if (differences.length > 0) {
      throw new SubmissionError('init_from_mismatch', `training.init_from (${describeInitFrom(training.init_from!)}, version ${init!.version}) has another architecture: ${differences.join('; ')}`)
    }
  } catch (err) {
    if (err instanceof BaseModelMismatchError) throw new SubmissionError('init_from_mismatch', err.message)
    if (err instanceof DataError) throw new SubmissionError('invalid_data', err.message)
    if (err instanceof TrainingConfigError) throw new SubmissionError('validation_failed', err.message)
    throw err
  }
  checkCheckpointSize(modelFootprint(task.model, spec.training), limits)
  spec = withKernels(spec, task, limits)
  const name = body.name ?? `${model.type}-${data.type}`
  // The hash is of the request as given (a replay after an alias moved is the same request);
  // the stored job holds the version the reference resolved to.
  const requestHash = hashRequest({ name, spec })
  if (init) spec = { ...spec, training: { ...spec.training, init_from: { model: init.model, version: init.version } } }
  return { name, spec, dataSummary: summarizeData(data), requestHash }
}

function checkDatasetSize(data: DataSpec, limits: Limits): void {
  let chars = 0
  if (data.type === 'pairs') for (const p of data.pairs) chars += p.input.length + p.target.length
  if (data.type === 'classes') for (const e of data.examples) chars += e.input.length
  if (data.type === 'text') chars = data.text.length
  if (chars > limits.maxDatasetChars) {
    throw new SubmissionError('limit_exceeded', `body/data holds ${chars} characters; the limit is ${limits.maxDatasetChars} (MAX_DATASET_CHARS)`)
  }
  if (data.type === 'series') {
    const width = Array.isArray(data.series[0]) ? (data.series[0] as number[]).length : 1
    const points = data.series.length * width
    if (points > limits.maxSeriesPoints) {
      throw new SubmissionError('limit_exceeded', `body/data/series holds ${points} numbers; the limit is ${limits.maxSeriesPoints} (MAX_SERIES_POINTS)`)
    }
  }
}

const MIB = 1024 * 1024

/** A model whose checkpoint could not be stored would train for nothing and fail at its first checkpoint. */
function checkCheckpointSize(footprint: { parameters: number; checkpointBytes: number }, limits: Limits): void {
  if (footprint.checkpointBytes <= limits.maxCheckpointBytes) return
  const mib = (bytes: number) => `${(bytes / MIB).toFixed(1)} MiB`
  throw new SubmissionError('model_too_large',
    `body/model has ${footprint.parameters} parameters: its checkpoint (weights and optimizer state, as float64) would take up to ` +
    `${mib(footprint.checkpointBytes)}, more than the ${mib(limits.maxCheckpointBytes)} a checkpoint may take (MAX_CHECKPOINT_BYTES); ` +
    'make the model smaller (hidden_size, num_layers, bidirectional) or use sgd/adagrad, which keep less optimizer state')
}

/**
 * Fixes the kernel set when the job's working memory decides it: the JavaScript kernels when
 * it would not fit a WebAssembly memory, a refusal when it would not fit MAX_TRAINING_MEMORY_BYTES.
 */
function withKernels(spec: JobSpec, task: PreparedTask, limits: Limits): JobSpec {
  const memory = trainingMemory(task, spec.training, spec.model.dtype ?? 'float64')
  let kernels
  try {
    kernels = chooseTrainingKernels(memory, spec.model.kernels, limits.maxTrainingMemoryBytes)
  } catch (err) {
    if (err instanceof TrainingMemoryError) throw new SubmissionError('model_too_large', `body/model: ${err.message}`)
    throw err
  }
  return kernels === spec.model.kernels ? spec : { ...spec, model: { ...spec.model, kernels } }
}

/** sha256 of the request with object keys sorted, so key order does not matter. */
export function hashRequest(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex')
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
    return `{${entries.join(',')}}`
  }
  return JSON.stringify(value)
}
