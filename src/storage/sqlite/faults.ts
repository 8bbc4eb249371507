import { StorageFullError, StorageUnavailableError, type StorageFaultError, type StorageUnavailableReason } from '../errors.js'

/**
 * better-sqlite3 errors carry SQLite's extended result code as `code` (`SQLITE_IOERR_WRITE`,
 * `SQLITE_READONLY_DBMOVED`, ...). The primary code (before the second underscore) decides.
 */
const UNAVAILABLE: Record<string, StorageUnavailableReason> = {
  SQLITE_IOERR: 'io_error',
  SQLITE_CANTOPEN: 'io_error',
  SQLITE_NOMEM: 'io_error',
  SQLITE_CORRUPT: 'corrupt',
  SQLITE_NOTADB: 'corrupt',
  SQLITE_READONLY: 'read_only',
  SQLITE_BUSY: 'busy',
  SQLITE_LOCKED: 'busy',
}

function primaryCode(code: string): string {
  const match = /^SQLITE_[A-Z]+/.exec(code)
  return match === null ? code : match[0]
}

/** The storage fault an SQLite error stands for, or undefined when it is not one (a constraint, a bug). */
export function sqliteFault(err: unknown): StorageFaultError | undefined {
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return undefined
  const primary = primaryCode(code)
  if (primary === 'SQLITE_FULL') return new StorageFullError(code, { cause: err })
  const reason = UNAVAILABLE[primary]
  return reason === undefined ? undefined : new StorageUnavailableError(reason, code, { cause: err })
}

/** `err` as a typed storage fault when it is one, else unchanged. */
export function translateSqliteError(err: unknown): unknown {
  return sqliteFault(err) ?? err
}
