import fs from 'node:fs'
import path from 'node:path'
import { DatabaseOpenError, isStorageFault, StorageError, type StorageFaultError } from './errors.js'

/**
 * Startup failures as one line an operator can act on: which database, what is wrong, what
 * to do. The native error is kept as `cause` (logged, not printed).
 */

/** The first error in `err`'s cause chain that `match` accepts. */
export function findCause<T>(err: unknown, match: (candidate: unknown) => T | undefined): T | undefined {
  for (let current = err, depth = 0; current !== undefined && current !== null && depth < 8; depth++) {
    const found = match(current)
    if (found !== undefined) return found
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}

/** File-system errors (creating the folder, reading the file) by errno code. */
const FILE_SYSTEM: Record<string, { problem: string; advice: string }> = {
  EACCES: { problem: 'permission denied', advice: 'Let the user running seqserve read and write the file and its directory' },
  EPERM: { problem: 'permission denied', advice: 'Let the user running seqserve read and write the file and its directory' },
  EROFS: { problem: 'it is on a read-only file system', advice: 'Mount the volume read-write, or point DATABASE_PATH at a writable location' },
  ENOSPC: { problem: 'the disk is full', advice: 'Free space on that volume' },
  ENOTDIR: { problem: 'a part of the path is a file, not a directory', advice: 'Fix DATABASE_PATH' },
  EISDIR: { problem: 'it is a directory', advice: 'Point DATABASE_PATH at a file inside it, e.g. <dir>/seqserve.db' },
}

/** SQLite result codes met while opening, by primary code. */
const SQLITE: Record<string, { problem: string; advice: string }> = {
  SQLITE_NOTADB: {
    problem: 'the file is not an SQLite database, or its header is damaged',
    advice: 'Restore it from a backup, or point DATABASE_PATH at another file (a missing file is created empty)',
  },
  SQLITE_CORRUPT: { problem: 'the file is damaged', advice: 'Restore it from a backup (or salvage it with `sqlite3 <file> .recover`)' },
  SQLITE_CANTOPEN: {
    problem: 'the file cannot be opened',
    advice: 'Check that DATABASE_PATH names a file (not a directory) that the user running seqserve may read and write, in a directory it may write',
  },
  SQLITE_READONLY: {
    problem: 'it is read-only',
    advice: 'seqserve writes the file and its -wal and -shm files beside it: mount the volume read-write and make the file and its directory writable, or point DATABASE_PATH at a writable location',
  },
  SQLITE_FULL: { problem: 'the disk is full', advice: 'Free space on that volume' },
  SQLITE_IOERR: { problem: 'the disk reported an I/O error', advice: 'Check the disk and the volume (kernel log, dmesg)' },
}

function sqliteCode(candidate: unknown): string | undefined {
  const code = (candidate as { code?: unknown }).code
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined
}

/**
 * SQLite says CANTOPEN or READONLY for several causes; the file system tells which (the
 * errno of a write check of the file and its folder, or the path being a folder).
 */
function fileSystemCause(file: string): string | undefined {
  try {
    if (fs.statSync(file).isDirectory()) return 'EISDIR'
  } catch {
    // A missing file is created in its folder: the folder is what must be writable.
  }
  for (const target of [path.dirname(path.resolve(file)), file]) {
    try {
      fs.accessSync(target, fs.constants.R_OK | fs.constants.W_OK)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code !== 'ENOENT' && code !== undefined) return code
    }
  }
  return undefined
}

/** An error met opening an SQLite file, as a DatabaseOpenError when it is about the file; else unchanged. */
export function sqliteOpenError(file: string, err: unknown): unknown {
  if (err instanceof DatabaseOpenError) return err
  const code = findCause(err, sqliteCode)
  if (code !== undefined && /^SQLITE_(CANTOPEN|READONLY)/.test(code)) {
    const errno = fileSystemCause(file)
    const known = errno === undefined ? undefined : FILE_SYSTEM[errno]
    if (known !== undefined) return new DatabaseOpenError(file, `${known.problem} (${code}, ${errno})`, known.advice, { cause: err })
  }
  if (code !== undefined) {
    const known = SQLITE[/^SQLITE_[A-Z]+/.exec(code)![0]]
    if (known !== undefined) return new DatabaseOpenError(file, `${known.problem} (${code})`, known.advice, { cause: err })
  }
  const errno = findCause(err, (candidate) => {
    const value = (candidate as { code?: unknown }).code
    return typeof value === 'string' && value in FILE_SYSTEM ? value : undefined
  })
  if (errno !== undefined) return new DatabaseOpenError(file, `${FILE_SYSTEM[errno].problem} (${errno})`, FILE_SYSTEM[errno].advice, { cause: err })
  return err
}

/** A storage fault met opening a database (any dialect), as a DatabaseOpenError; else unchanged. */
export function faultOpenError(location: string, err: unknown, toFault: (err: unknown) => StorageFaultError | undefined): unknown {
  if (err instanceof DatabaseOpenError) return err
  const fault = findCause(err, (candidate) => (isStorageFault(candidate) ? candidate : toFault(candidate)))
  if (fault === undefined) return err
  return new DatabaseOpenError(location, fault.problem, fault.advice, { cause: err })
}

/** One line for an operator: a startup failure of the storage layer, or undefined for anything else. */
export function startupFailureLine(err: unknown): string | undefined {
  if (!(err instanceof StorageError)) return undefined
  return err.message.replace(/\s*\n\s*/g, ' ')
}
