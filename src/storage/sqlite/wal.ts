import fs from 'node:fs'
import { withBusyTimeout, type Database } from './database.js'

/**
 * The WAL's size after a checkpoint resets it (PRAGMA journal_size_limit): without it the
 * file keeps the largest size it ever reached.
 */
export const WAL_SIZE_LIMIT_BYTES = 16 * 1024 * 1024

/** How often the keeper looks at the WAL. */
export const WAL_CHECK_INTERVAL_MS = 5000

/** How long a TRUNCATE checkpoint waits for other processes' readers and writers: it runs on the event loop. */
const CHECKPOINT_BUSY_TIMEOUT_MS = 100

export interface WalCheck {
  /** The -wal file's size before, in bytes. */
  bytes: number
  /** Whether a TRUNCATE checkpoint ran, and whether it completed (false: readers or a writer in other processes kept it from finishing; the next check tries again). */
  checkpoint: 'none' | 'done' | 'busy'
}

/**
 * Keeps the WAL of a database file bounded. SQLite checkpoints automatically every ~1000
 * pages, but a checkpoint can only restart the WAL when no reader still uses it: readers in
 * other processes (an API node beside a worker node, a backup, a dashboard reading the file)
 * can starve it and the file grows without limit. Every few seconds the keeper looks at the
 * -wal file; past WAL_SIZE_LIMIT_BYTES, or when the database has been idle since the last
 * look, it runs `wal_checkpoint(TRUNCATE)`, which copies the WAL into the database and
 * empties the file. Commits are never delayed or batched for it: every epoch's loss point
 * is still committed (and readable by live progress) at once.
 */
export class WalKeeper {
  private timer: NodeJS.Timeout | undefined
  private last: { size: number; mtimeMs: number } | undefined

  constructor(private readonly db: Database, private readonly walFile: string, private readonly limitBytes = WAL_SIZE_LIMIT_BYTES) {}

  start(intervalMs = WAL_CHECK_INTERVAL_MS): void {
    this.timer ??= setInterval(() => {
      this.check().catch(() => undefined)
    }, intervalMs).unref()
  }

  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  /** One look at the WAL (what the timer runs); exported for tests and the measurement script. */
  async check(): Promise<WalCheck> {
    let stats: fs.Stats
    try {
      stats = await fs.promises.stat(this.walFile)
    } catch {
      return { bytes: 0, checkpoint: 'none' }
    }
    const idle = this.last !== undefined && this.last.size === stats.size && this.last.mtimeMs === stats.mtimeMs
    this.last = { size: stats.size, mtimeMs: stats.mtimeMs }
    if (!this.db.open || stats.size === 0 || (stats.size <= this.limitBytes && !idle)) return { bytes: stats.size, checkpoint: 'none' }
    return { bytes: stats.size, checkpoint: this.truncate() ? 'done' : 'busy' }
  }

  /** True when the WAL was copied into the database and emptied. */
  private truncate(): boolean {
    this.last = undefined
    try {
      const [result] = withBusyTimeout(this.db, CHECKPOINT_BUSY_TIMEOUT_MS, () => this.db.pragma('wal_checkpoint(TRUNCATE)')) as { busy: number }[]
      return result.busy === 0
    } catch {
      // A full disk or an I/O error: readiness reports those; the next look tries again.
      return false
    }
  }
}
