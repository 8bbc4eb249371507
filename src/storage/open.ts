import type { Storage } from './storage.js'
import { openPostgresStorage } from './postgres/storage.js'
import { openSqliteStorage } from './sqlite/storage.js'

export interface StorageTarget {
  /** SQLite file path, or `:memory:`; used when `url` is unset. */
  path?: string
  /** `postgres://...`: PostgreSQL instead of the SQLite file. */
  url?: string | null
}

/** Opens the configured database and brings its schema up to date. */
export async function openStorage(target: StorageTarget): Promise<Storage> {
  if (target.url) return openPostgresStorage({ url: target.url })
  if (target.path === undefined) throw new Error('openStorage needs a SQLite path or a PostgreSQL URL')
  return openSqliteStorage({ path: target.path })
}
