import type BetterSqlite3 from 'better-sqlite3'
import type { ModelsStore } from '../../models/registry-types.js'
import { SqliteModelsRepository } from './models-repository.js'

/** The registry store over SQLite: the synchronous repository behind settled Promises. */
export function sqliteModelsStore(db: BetterSqlite3.Database): ModelsStore {
  const repo = new SqliteModelsRepository(db)
  return {
    list: async () => repo.list(),
    get: async (name) => repo.get(name),
    version: async (name, version) => repo.version(name, version),
    latest: async (name) => repo.latest(name),
    versionOfJob: async (jobId) => repo.versionOfJob(jobId),
    resolveAlias: async (name, alias) => repo.resolveAlias(name, alias),
    setAlias: async (name, alias, version, now) => repo.setAlias(name, alias, version, now),
    deleteAlias: async (name, alias) => repo.deleteAlias(name, alias),
    aliasesOfJob: async (jobId) => repo.aliasesOfJob(jobId),
    insertImported: async (job, checkpoint, now) => repo.insertImported(job, checkpoint, now),
  }
}
