import { defaultKernelSet } from '../engine/backend/select.js'
/**
 * The model registry (MLflow's idea): every succeeded job or import of a name is a version
 * of that model, numbered in order of completion; aliases such as `production` point at a
 * version and can be moved (switch) or moved back (rollback) atomically. Predictions name
 * `name` (the highest version), `name@alias` or `name` with a version.
 */
import { CHECKPOINT_FORMAT, encodeCheckpoint } from '../engine/tasks/checkpoint.js'
import type { ImportedModel } from './import.js'
import type { ModelsStore } from '../storage/storage.js'
import type { DeleteResult, ModelRecord, ModelVersionRecord } from '../storage/types.js'

export class RegistryError extends Error {
  constructor(readonly code: 'model_not_found' | 'version_not_found' | 'alias_not_found' | 'version_aliased' | 'version_not_imported' | 'invalid_model_ref', message: string, readonly details?: unknown) {
    super(message)
    this.name = 'RegistryError'
  }
}

/** What served a prediction. */
export interface ResolvedModel {
  name: string
  version: number
  alias: string | null
  jobId: string
}

export const ALIAS_PATTERN = '^[A-Za-z][A-Za-z0-9_-]{0,63}$'
const ALIAS = new RegExp(ALIAS_PATTERN)

/** `name`, `name@alias`: the alias part split off (model names cannot contain "@"). */
export function parseModelRef(ref: string): { name: string; alias: string | null } {
  const at = ref.indexOf('@')
  if (at < 0) return { name: ref, alias: null }
  const name = ref.slice(0, at)
  const alias = ref.slice(at + 1)
  if (name === '' || !ALIAS.test(alias)) throw new RegistryError('invalid_model_ref', `model ${JSON.stringify(ref)} is not NAME or NAME@ALIAS (an alias starts with a letter; letters, digits, _ and -)`)
  return { name, alias }
}

export class ModelRegistry {
  /** `deleteJob` removes a finished job with its checkpoints (and, by cascade, its version). */
  constructor(private readonly store: ModelsStore, private readonly deleteJob: (jobId: string) => Promise<DeleteResult> | DeleteResult) {}

  list(): Promise<ModelRecord[]> {
    return this.store.list()
  }

  async get(name: string): Promise<ModelRecord> {
    const model = await this.store.get(name)
    if (!model) throw new RegistryError('model_not_found', `No model is named ${JSON.stringify(name)} (a model appears when a job of that name succeeds or a version is imported)`)
    return model
  }

  async version(name: string, version: number): Promise<ModelVersionRecord> {
    const found = await this.store.version(name, version)
    if (found) return found
    const model = await this.get(name)
    throw new RegistryError('version_not_found', `Model ${JSON.stringify(name)} has no version ${version} (versions: ${model.versions.map((v) => v.version).join(', ') || 'none'})`)
  }

  /** `model` is NAME or NAME@ALIAS; `version` pins a version of NAME. */
  async resolve(model: string, version?: number): Promise<ResolvedModel> {
    const { name, alias } = parseModelRef(model)
    if (alias !== null && version !== undefined) throw new RegistryError('invalid_model_ref', `give either ${name}@${alias} or version=${version}, not both`)
    if (alias !== null) {
      const target = await this.store.resolveAlias(name, alias)
      if (!target) {
        const record = await this.get(name)
        const known = Object.keys(record.aliases)
        throw new RegistryError('alias_not_found', `Model ${JSON.stringify(name)} has no alias ${JSON.stringify(alias)} (aliases: ${known.join(', ') || 'none'})`)
      }
      return { name, version: target.version, alias, jobId: target.jobId }
    }
    if (version !== undefined) {
      const target = await this.version(name, version)
      return { name, version, alias: null, jobId: target.jobId }
    }
    const latest = await this.store.latest(name)
    if (!latest) await this.get(name)
    return { name, version: latest!.version, alias: null, jobId: latest!.jobId }
  }

  async setAlias(name: string, alias: string, version: number, now: number): Promise<void> {
    if (!(await this.store.setAlias(name, alias, version, now))) await this.version(name, version)
  }

  async deleteAlias(name: string, alias: string): Promise<void> {
    if (await this.store.deleteAlias(name, alias)) return
    await this.get(name)
    throw new RegistryError('alias_not_found', `Model ${JSON.stringify(name)} has no alias ${JSON.stringify(alias)}`)
  }

  /** The version a job is, if it is one. */
  async versionOf(jobId: string): Promise<{ name: string; version: number; alias: null } | undefined> {
    const v = await this.store.versionOfJob(jobId)
    return v && { name: v.name, version: v.version, alias: null }
  }

  /** A job that is an aliased version cannot be deleted: the alias would point nowhere. */
  async assertDeletable(jobId: string): Promise<void> {
    const aliases = await this.store.aliasesOfJob(jobId)
    if (aliases.length === 0) return
    const { name, version } = aliases[0]
    const names = aliases.map((a) => `${name}@${a.alias}`).join(', ')
    throw new RegistryError('version_aliased', `Version ${version} of ${JSON.stringify(name)} is what ${names} points to; move the alias (PUT /models/${name}/aliases/{alias}) or delete it first`, { aliases: aliases.map((a) => a.alias) })
  }

  /**
   * Deletes a finished job, and with it the version it is. An alias pointing at the version is
   * a 409, also one set while the delete was under way (the store checks in its transaction).
   */
  async deleteJobVersion(jobId: string): Promise<Exclude<DeleteResult, 'aliased'>> {
    await this.assertDeletable(jobId)
    const result = await this.deleteJob(jobId)
    if (result !== 'aliased') return result
    await this.assertDeletable(jobId)
    throw new RegistryError('version_aliased', `An alias was pointed at the version of job ${jobId} while it was being deleted; move the alias (PUT /models/{name}/aliases/{alias}) or delete it first`)
  }

  /** Deletes an imported version (trained versions go with their job). Returns the job id it was stored as. */
  async deleteImported(name: string, version: number): Promise<string> {
    const v = await this.version(name, version)
    if (v.source !== 'import') throw new RegistryError('version_not_imported', `Version ${version} of ${JSON.stringify(name)} is job ${v.jobId}; delete it with DELETE /jobs/${v.jobId}`)
    // Deleted by a concurrent request since it was looked up: gone either way.
    if ((await this.deleteJobVersion(v.jobId)) === 'not_found') await this.version(name, version)
    return v.jobId
  }

  async importVersion(name: string, imported: ImportedModel, format: 'json' | 'safetensors', now: number): Promise<ModelVersionRecord> {
    const { meta, model, params } = imported
    const blob = encodeCheckpoint({
      meta, model, params, dtype: 'float64', kernels: defaultKernelSet(), epoch: 0, loss: null, bestLoss: null, elapsedMs: 0, rng: [],
      optimizer: { name: 'adam', step: 0, buffers: {} }, carry: [],
    })
    const spec = {
      model: { type: model.mode.startsWith('rnn') ? 'rnn' : model.mode, hidden_size: model.hiddenSize, num_layers: model.numLayers, bidirectional: model.bidirectional, dropout: model.dropout, nonlinearity: model.mode === 'rnn_relu' ? 'relu' : 'tanh', proj_size: model.projSize },
      data: null,
      training: {},
    }
    return this.store.insertImported(
      { name, spec, dataSummary: { type: 'import', task: meta.kind, format }, epochs: 0 },
      { epoch: 0, isFinal: true, format: CHECKPOINT_FORMAT, blob },
      now,
    )
  }
}
