import type { ModelsStore } from '../storage/storage.js'

/**
 * The registry's store, calling `changed()` after every write that can change what a model
 * name or alias resolves to (an alias set or deleted, a version imported), so serving stops
 * reusing resolutions the write made stale (ResolutionCache).
 */
export function observeModelChanges(store: ModelsStore, changed: () => void): ModelsStore {
  const after = <A extends unknown[], R>(write: (...args: A) => Promise<R>) => async (...args: A): Promise<R> => {
    try {
      return await write.apply(store, args)
    } finally {
      changed()
    }
  }
  return {
    list: () => store.list(),
    get: (name) => store.get(name),
    version: (name, version) => store.version(name, version),
    latest: (name) => store.latest(name),
    versionOfJob: (jobId) => store.versionOfJob(jobId),
    resolveAlias: (name, alias) => store.resolveAlias(name, alias),
    aliasesOfJob: (jobId) => store.aliasesOfJob(jobId),
    setAlias: after(store.setAlias),
    deleteAlias: after(store.deleteAlias),
    insertImported: after(store.insertImported),
  }
}
