import type BetterSqlite3 from 'better-sqlite3'
import {
  toCheckpointMeta,
  toCheckpointRecord,
  type CheckpointMeta,
  type CheckpointRecord,
  type CheckpointRow,
  type NewCheckpoint,
} from '../types.js'
import { checkKeep, checkpointBytes } from '../checks.js'
import type { CheckpointsStore } from '../storage.js'
import type { Synchronous } from '../synchronous.js'

type MetaRow = Omit<CheckpointRow, 'id' | 'blob'>

const META_COLUMNS = 'job_id, epoch, is_final, format, created_at'

/**
 * Checkpoint blobs per job. Only the newest few intermediate checkpoints are
 * kept (resume needs just the latest; one spare survives a torn write of the
 * newest), and final ones are never pruned because predict serves them.
 */
export class SqliteCheckpointsRepository implements Synchronous<CheckpointsStore> {
  private readonly db: BetterSqlite3.Database
  private readonly upsertStmt: BetterSqlite3.Statement<[Record<string, unknown>], MetaRow>
  private readonly pruneStmt: BetterSqlite3.Statement<[Record<string, unknown>]>
  private readonly latestStmt: BetterSqlite3.Statement<[string], CheckpointRow>
  private readonly latestMetaStmt: BetterSqlite3.Statement<[string], MetaRow>
  private readonly latestMetaManyStmt: BetterSqlite3.Statement<[string], MetaRow>
  private readonly finalStmt: BetterSqlite3.Statement<[string], CheckpointRow>
  private readonly listMetaStmt: BetterSqlite3.Statement<[string], MetaRow>
  private readonly atStmt: BetterSqlite3.Statement<[string, number], CheckpointRow>
  private readonly deleteAfterStmt: BetterSqlite3.Statement<[string, number]>

  constructor(db: BetterSqlite3.Database) {
    this.db = db
    // ON CONFLICT DO UPDATE rather than INSERT OR REPLACE: REPLACE deletes first,
    // which would fire cascades if anything ever references checkpoints.
    this.upsertStmt = db.prepare(`
      INSERT INTO checkpoints (job_id, epoch, is_final, format, blob, created_at)
      VALUES (@jobId, @epoch, @isFinal, @format, @blob, @now)
      ON CONFLICT (job_id, epoch) DO UPDATE SET
        is_final = excluded.is_final, format = excluded.format, blob = excluded.blob, created_at = excluded.created_at
      RETURNING ${META_COLUMNS}`)
    this.pruneStmt = db.prepare(`
      DELETE FROM checkpoints
      WHERE job_id = @jobId AND is_final = 0 AND epoch NOT IN (
        SELECT epoch FROM checkpoints WHERE job_id = @jobId AND is_final = 0 ORDER BY epoch DESC LIMIT @keep
      )`)
    this.latestStmt = db.prepare('SELECT * FROM checkpoints WHERE job_id = ? ORDER BY epoch DESC LIMIT 1')
    this.latestMetaStmt = db.prepare(`SELECT ${META_COLUMNS} FROM checkpoints WHERE job_id = ? ORDER BY epoch DESC LIMIT 1`)
    this.latestMetaManyStmt = db.prepare(`
      SELECT ${META_COLUMNS} FROM checkpoints c
      WHERE c.job_id IN (SELECT value FROM json_each(?))
        AND c.epoch = (SELECT MAX(epoch) FROM checkpoints WHERE job_id = c.job_id)`)
    this.finalStmt = db.prepare('SELECT * FROM checkpoints WHERE job_id = ? AND is_final = 1 ORDER BY epoch DESC LIMIT 1')
    this.listMetaStmt = db.prepare(`SELECT ${META_COLUMNS} FROM checkpoints WHERE job_id = ? ORDER BY epoch`)
    this.atStmt = db.prepare('SELECT * FROM checkpoints WHERE job_id = ? AND epoch = ?')
    this.deleteAfterStmt = db.prepare('DELETE FROM checkpoints WHERE job_id = ? AND epoch > ?')
  }

  /**
   * Stores (or replaces) the checkpoint for `checkpoint.epoch`, then deletes
   * intermediate checkpoints beyond the newest `keep`; final ones always stay.
   */
  save(jobId: string, checkpoint: NewCheckpoint, now: number, keep = 2): CheckpointMeta {
    checkKeep(keep)
    const blob = checkpointBytes(checkpoint)
    return this.db.transaction(() => {
      const row = this.upsertStmt.get({
        jobId,
        epoch: checkpoint.epoch,
        isFinal: checkpoint.isFinal ? 1 : 0,
        format: checkpoint.format,
        blob,
        now,
      }) as MetaRow
      this.pruneStmt.run({ jobId, keep })
      return toCheckpointMeta(row)
    }).immediate()
  }

  /** The highest-epoch checkpoint, blob included: what a resumed run starts from. */
  latest(jobId: string): CheckpointRecord | undefined {
    const row = this.latestStmt.get(jobId)
    return row === undefined ? undefined : toCheckpointRecord(row)
  }

  /** Like latest() without reading the blob, for status responses. */
  latestMeta(jobId: string): CheckpointMeta | undefined {
    const row = this.latestMetaStmt.get(jobId)
    return row === undefined ? undefined : toCheckpointMeta(row)
  }

  /** latestMeta for many jobs in one query (job listings); jobs without a checkpoint are absent. */
  latestMetaForJobs(jobIds: readonly string[]): Map<string, CheckpointMeta> {
    const rows = this.latestMetaManyStmt.all(JSON.stringify(jobIds))
    return new Map(rows.map((row) => [row.job_id, toCheckpointMeta(row)]))
  }

  /** The checkpoint a finished run left for serving. */
  final(jobId: string): CheckpointRecord | undefined {
    const row = this.finalStmt.get(jobId)
    return row === undefined ? undefined : toCheckpointRecord(row)
  }

  /** All stored checkpoints of a job, oldest first, without blobs. */
  listMeta(jobId: string): CheckpointMeta[] {
    return this.listMetaStmt.all(jobId).map(toCheckpointMeta)
  }

  at(jobId: string, epoch: number): CheckpointRecord | undefined {
    const row = this.atStmt.get(jobId, epoch)
    return row === undefined ? undefined : toCheckpointRecord(row)
  }

  /** Drops checkpoints newer than `epoch` (rewinding a job to an older one). Returns how many. */
  deleteAfter(jobId: string, epoch: number): number {
    return this.deleteAfterStmt.run(jobId, epoch).changes
  }
}
