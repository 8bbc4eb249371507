import fs from 'node:fs'
import path from 'node:path'
import type BetterSqlite3 from 'better-sqlite3'
import { StorageUnavailableError, isStorageFault, type StorageFaultError } from '../errors.js'
import { withBusyTimeout, type Database } from './database.js'
import { sqliteFault } from './faults.js'

/** Below this much free space where the database lives, readiness reports the disk full: a job's next save would not fit. */
export const MIN_FREE_BYTES = 1024 * 1024

/**
 * How long the probe write waits for another process's write lock. The connection is
 * synchronous, so this bounds how long /readyz can hold the event loop (instead of the
 * connection's 5 s busy timeout).
 */
export const PROBE_BUSY_TIMEOUT_MS = 100

/**
 * What readiness knows about an SQLite file: a small real write (one row of storage_probe)
 * per check, the free space of its filesystem (asked off the main thread), and damage that
 * stays known until restart (PRAGMA quick_check at open, SQLITE_CORRUPT met by any operation).
 */
export class SqliteHealth {
  private damage: string | null
  private probe: BetterSqlite3.Statement | undefined

  constructor(private readonly db: Database, private readonly file: string | null) {
    this.damage = file === null ? null : quickCheck(db)
  }

  /** Remembers what an operation met: a damaged file stays reported until restart. */
  note(fault: StorageFaultError): void {
    if (fault instanceof StorageUnavailableError && fault.reason === 'corrupt') this.damage ??= `an operation found it damaged (${fault.nativeCode})`
  }

  /** Damage found by PRAGMA quick_check when the file was opened, or since; null when none is known. */
  get knownDamage(): string | null {
    return this.damage
  }

  /** Why the database cannot take writes now, one sentence each; empty when it can. */
  async problems(): Promise<string[]> {
    const problems: string[] = []
    if (this.damage !== null) problems.push(`the database file is damaged: ${this.damage}; restore it from a backup`)
    const free = this.file === null ? undefined : await freeBytes(this.file)
    if (free !== undefined && free < MIN_FREE_BYTES) {
      problems.push(`the disk holding the database is full (${free} bytes free, under ${MIN_FREE_BYTES}): free space on that volume; writes are accepted again without a restart`)
    }
    const refused = this.probeWrite()
    if (refused !== null) problems.push((await this.readOnlyFileSystem()) ?? refused)
    return problems
  }

  /**
   * SQLite reports a file system that turned read-only under it (a failing disk, ext4
   * `errors=remount-ro`) as an I/O error; creating a file beside the database (off the event
   * loop, only once the probe failed) tells which it is.
   */
  private async readOnlyFileSystem(): Promise<string | null> {
    if (this.file === null) return null
    const probe = path.join(path.dirname(path.resolve(this.file)), `.seqserve-probe-${process.pid}`)
    try {
      await (await fs.promises.open(probe, 'w')).close()
      await fs.promises.unlink(probe)
      return null
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EROFS') return null
      return 'the database is not writable: the file system holding the database is read-only (EROFS). ' +
        'Remount it read-write; a volume the kernel made read-only after disk errors (see dmesg) needs a file-system check and a restart of seqserve, ' +
        'after which running jobs resume from their last saved checkpoint'
    }
  }

  private lockOnly(): string | null {
    try {
      this.db.prepare('BEGIN IMMEDIATE').run()
      this.db.prepare('ROLLBACK').run()
      return null
    } catch (err) {
      return `the database is not writable: ${(err as Error).message}`
    }
  }

  /** Rewrites the probe row with a short busy timeout; the reason it failed, or null. */
  private probeWrite(): string | null {
    if (this.db.readonly) return 'the database is not writable: it is open read-only'
    try {
      this.probe ??= this.db.prepare('UPDATE storage_probe SET written_at = ? WHERE id = 1')
      const probe = this.probe
      withBusyTimeout(this.db, PROBE_BUSY_TIMEOUT_MS, () => probe.run(Date.now()))
      return null
    } catch (err) {
      const fault = sqliteFault(err)
      // A schema without the probe table (its migration not applied yet) is reported as such
      // by the migrations check; taking the write lock still shows the file takes writes.
      if (fault === undefined && /no such table: storage_probe/.test((err as Error).message)) return this.lockOnly()
      if (fault === undefined) return `the database is not writable: ${(err as Error).message}`
      this.note(fault)
      return `the database is not writable: ${fault.problem}. ${fault.advice}`
    }
  }
}

/** Free bytes for an unprivileged writer on the filesystem holding `file`; undefined when it cannot be asked. */
async function freeBytes(file: string): Promise<number | undefined> {
  try {
    const stats = await fs.promises.statfs(path.dirname(path.resolve(file)))
    return stats.bavail * stats.bsize
  } catch {
    return undefined
  }
}

/** null when PRAGMA quick_check finds the file sound, else what it reported. */
function quickCheck(db: Database): string | null {
  try {
    const rows = db.pragma('quick_check(3)') as { quick_check: string }[]
    const problems = rows.map((row) => row.quick_check).filter((result) => result !== 'ok')
    return problems.length === 0 ? null : `PRAGMA quick_check reports ${problems.join('; ').replace(/\s*\n\s*/g, '; ')}`
  } catch (err) {
    const fault = sqliteFault(err)
    return `PRAGMA quick_check failed${isStorageFault(fault) ? ` (${fault.nativeCode})` : ''}: ${(err as Error).message}`
  }
}
