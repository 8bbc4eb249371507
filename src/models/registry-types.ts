/** The model registry's records, as the storage layer returns them. */
import type { NewCheckpoint, NewJob } from '../storage/types.js'

export type VersionSource = 'job' | 'import'

export interface ModelVersionRecord {
  name: string
  version: number
  /** The job whose final checkpoint holds the weights (an import is a succeeded job too). */
  jobId: string
  source: VersionSource
  /** ms since epoch */
  createdAt: number
}

export interface ModelRecord {
  name: string
  /** Highest version number ever given (numbers are never reused). */
  lastVersion: number
  createdAt: number
  versions: ModelVersionRecord[]
  /** alias -> version */
  aliases: Record<string, number>
}

export interface AliasRecord {
  name: string
  alias: string
  version: number
}

/**
 * The registry tables. Versions are created by the database itself when a job of that name
 * succeeds (or an import is inserted as a succeeded job), in the same transaction, so a
 * version can never point at a job without its final checkpoint.
 */
export interface ModelsStore {
  /** Every model with its versions and aliases, by name. */
  list(): Promise<ModelRecord[]>
  get(name: string): Promise<ModelRecord | undefined>
  version(name: string, version: number): Promise<ModelVersionRecord | undefined>
  latest(name: string): Promise<ModelVersionRecord | undefined>
  versionOfJob(jobId: string): Promise<ModelVersionRecord | undefined>
  /** The version `alias` points to, or undefined. */
  resolveAlias(name: string, alias: string): Promise<ModelVersionRecord | undefined>
  /** Points the alias at the version (creating or moving it); false when the version does not exist. */
  setAlias(name: string, alias: string, version: number, now: number): Promise<boolean>
  /** False when there was no such alias. */
  deleteAlias(name: string, alias: string): Promise<boolean>
  /** Aliases pointing at the version a job is. */
  aliasesOfJob(jobId: string): Promise<AliasRecord[]>
  /**
   * An import: inserts a succeeded job holding `checkpoint` as its final checkpoint, in one
   * transaction; the database numbers the new version.
   */
  insertImported(job: NewJob, checkpoint: NewCheckpoint, now: number): Promise<ModelVersionRecord>
}
