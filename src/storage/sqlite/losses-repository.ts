import type BetterSqlite3 from 'better-sqlite3'
import { checkLossPoints } from '../checks.js'
import type { LossesStore } from '../storage.js'
import type { Synchronous } from '../synchronous.js'
import { toLossPoint, type LossPoint, type LossRow, type NewLossPoint } from '../types.js'

/** Loss history: the primary key (job_id, epoch) makes "each epoch exactly once" a schema fact. */
export class SqliteLossesRepository implements Synchronous<LossesStore> {
  private readonly db: BetterSqlite3.Database
  private readonly upsertStmt: BetterSqlite3.Statement<[Record<string, unknown>]>
  private readonly listStmt: BetterSqlite3.Statement<[string], LossRow>
  private readonly pageStmt: BetterSqlite3.Statement<[string, number, number], LossRow>
  private readonly truncateStmt: BetterSqlite3.Statement<[string, number]>
  private readonly atEpochStmt: BetterSqlite3.Statement<[string, number], LossRow>
  private readonly bestUpToStmt: BetterSqlite3.Statement<[string, number], number | null>

  constructor(db: BetterSqlite3.Database) {
    this.db = db
    this.upsertStmt = db.prepare(`
      INSERT INTO losses (job_id, epoch, loss, val_loss, at, metrics, lr) VALUES (@jobId, @epoch, @loss, @valLoss, @at, @metrics, @lr)
      ON CONFLICT (job_id, epoch) DO UPDATE SET loss = excluded.loss, val_loss = excluded.val_loss, at = excluded.at,
        metrics = excluded.metrics, lr = excluded.lr`)
    this.listStmt = db.prepare('SELECT * FROM losses WHERE job_id = ? ORDER BY epoch')
    this.pageStmt = db.prepare('SELECT * FROM losses WHERE job_id = ? AND epoch > ? ORDER BY epoch LIMIT ?')
    this.truncateStmt = db.prepare('DELETE FROM losses WHERE job_id = ? AND epoch > ?')
    this.atEpochStmt = db.prepare('SELECT * FROM losses WHERE job_id = ? AND epoch = ?')
    this.bestUpToStmt = db.prepare<[string, number], number | null>('SELECT MIN(loss) FROM losses WHERE job_id = ? AND epoch <= ?').pluck()
  }

  /**
   * Writes the points in one transaction; an epoch already present is replaced.
   * Non-finite losses are refused: SQLite would store NaN as NULL and JSON cannot carry Infinity.
   */
  append(jobId: string, points: readonly NewLossPoint[]): void {
    checkLossPoints(points)
    this.db.transaction(() => {
      for (const p of points) {
        this.upsertStmt.run({
          jobId, epoch: p.epoch, loss: p.loss, valLoss: p.valLoss ?? null, at: p.at,
          metrics: p.metrics ? JSON.stringify(p.metrics) : null, lr: p.lr ?? null,
        })
      }
    }).immediate()
  }

  /** Points in epoch order; with `page`, at most `limit` of them after epoch `afterEpoch`. */
  list(jobId: string, page?: { afterEpoch: number; limit: number }): LossPoint[] {
    const rows = page === undefined ? this.listStmt.all(jobId) : this.pageStmt.all(jobId, page.afterEpoch, page.limit)
    return rows.map(toLossPoint)
  }

  /** Drops points after `epoch` (a resumed run will write them again). Returns how many. */
  truncateAfter(jobId: string, epoch: number): number {
    return this.truncateStmt.run(jobId, epoch).changes
  }

  at(jobId: string, epoch: number): LossPoint | undefined {
    const row = this.atEpochStmt.get(jobId, epoch)
    return row === undefined ? undefined : toLossPoint(row)
  }

  /** Lowest training loss recorded up to and including `epoch`; null when none. */
  bestUpTo(jobId: string, epoch: number): number | null {
    return this.bestUpToStmt.get(jobId, epoch) ?? null
  }
}
