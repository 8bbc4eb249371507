/**
 * Fine-tuning (`training.init_from`): a job starts from the weights of a model version instead
 * of the seeded init. The reference is resolved once, at submission, to a fixed
 * `{model, version}` (version numbers are never reused and versions never change), so moving
 * an alias later does not change where a queued, running or resumed job starts.
 */
import { decodeCheckpointHeader } from '../engine/tasks/checkpoint.js'
import type { SequenceModelConfig } from '../engine/model.js'
import type { InitFrom, ResolvedInitFrom, TrainingSpec } from '../engine/tasks/spec.js'
import type { TaskMeta } from '../engine/tasks/task.js'
import { type ModelRegistry, RegistryError } from '../models/registry.js'
import type { Storage } from '../storage/storage.js'

/** The model version a job starts from, with what defines its model. */
export interface InitSource extends ResolvedInitFrom {
  /** The alias the request named, if any (`name@alias`). */
  alias: string | null
  jobId: string
  meta: TaskMeta
  config: SequenceModelConfig
}

/** The version a stored job was to start from is gone (deleted after the job was queued). */
export class InitFromMissingError extends Error {
  constructor(readonly ref: ResolvedInitFrom) {
    super(`training.init_from names version ${ref.version} of ${JSON.stringify(ref.model)}, which no longer exists (it was deleted after the job was submitted)`)
    this.name = 'InitFromMissingError'
  }
}

/** `init_from` as the request gave it, in one line for messages. */
export function describeInitFrom(value: InitFrom): string {
  return typeof value === 'string' ? value : `${value.model} version ${value.version}`
}

/**
 * Resolves `"name"`, `"name@alias"` or `{model, version}` to a version and reads its model
 * (the checkpoint header only). Registry errors keep their codes; messages name the field.
 */
export async function resolveInitFrom(value: InitFrom, registry: ModelRegistry, storage: Storage): Promise<InitSource> {
  let resolved
  try {
    resolved = typeof value === 'string' ? await registry.resolve(value) : await registry.resolve(value.model, value.version)
  } catch (err) {
    if (err instanceof RegistryError) throw new RegistryError(err.code, `training.init_from: ${err.message}`, err.details)
    throw err
  }
  const checkpoint = await storage.checkpoints.final(resolved.jobId)
  if (!checkpoint) throw new InitFromMissingError({ model: resolved.name, version: resolved.version })
  const header = decodeCheckpointHeader(new Uint8Array(checkpoint.blob.buffer, checkpoint.blob.byteOffset, checkpoint.blob.byteLength))
  return { model: resolved.name, version: resolved.version, alias: resolved.alias, jobId: resolved.jobId, meta: header.meta, config: header.model }
}

/**
 * The encoded final checkpoint of the version a job starts from (null without init_from).
 * Read again on every fresh start, so a job restarted before its first checkpoint starts
 * from the very same weights.
 */
export async function loadInitWeights(storage: Storage, training: TrainingSpec): Promise<Uint8Array | null> {
  const ref = training.init_from
  if (ref === undefined) return null
  if (typeof ref === 'string') throw new Error(`training.init_from ${JSON.stringify(ref)} was stored unresolved`)
  const version = await storage.models.version(ref.model, ref.version)
  const checkpoint = version && (await storage.checkpoints.final(version.jobId))
  if (!checkpoint) throw new InitFromMissingError(ref)
  return new Uint8Array(checkpoint.blob.buffer, checkpoint.blob.byteOffset, checkpoint.blob.byteLength)
}

const TYPE_OF_MODE: Record<SequenceModelConfig['mode'], string> = { rnn_tanh: 'rnn (tanh)', rnn_relu: 'rnn (relu)', lstm: 'lstm', gru: 'gru' }

/**
 * What differs between the architecture a job asks for and the one of the model it starts
 * from, one phrase per field, named as in the request (empty when they match).
 */
export function architectureDifferences(job: SequenceModelConfig, source: SequenceModelConfig): string[] {
  const out: string[] = []
  const compare = (field: string, mine: unknown, theirs: unknown) => {
    if (mine !== theirs) out.push(`${field} is ${JSON.stringify(mine)} but the model has ${JSON.stringify(theirs)}`)
  }
  if (job.mode !== source.mode) out.push(`model.type is ${TYPE_OF_MODE[job.mode]} but the model is ${TYPE_OF_MODE[source.mode]}`)
  compare('model.hidden_size', job.hiddenSize, source.hiddenSize)
  compare('model.num_layers', job.numLayers, source.numLayers)
  compare('model.bidirectional', job.bidirectional, source.bidirectional)
  compare('model.proj_size', job.projSize, source.projSize)
  // With the source's vocabulary, labels and features adopted these agree unless the task differs.
  compare('the input size', job.inputSize, source.inputSize)
  compare('the output size', job.outputSize, source.outputSize)
  compare('the head', job.head, source.head)
  return out
}
