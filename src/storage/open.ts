import type { Storage } from './storage.js'
import { openSqliteStorage } from './sqlite/storage.js'

export interface StorageTarget {
  /** SQLite file path, or `:memory:`. */
  path: string
}

/** Opens the configured database and brings its schema up to date. */
export async function openStorage(target: StorageTarget): Promise<Storage> {
  return openSqliteStorage({ path: target.path })
}
