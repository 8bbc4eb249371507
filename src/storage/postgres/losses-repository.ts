import { checkLossPoints } from '../checks.js'
import type { LossesStore } from '../storage.js'
import { toLossPoint, type LossPoint, type LossRow, type NewLossPoint } from '../types.js'
import type { Session } from './session.js'

/** Loss history on PostgreSQL: the primary key (job_id, epoch) makes "each epoch exactly once" a schema fact. */
export class PgLossesRepository implements LossesStore {
  constructor(private readonly db: Session) {}

  async append(jobId: string, points: readonly NewLossPoint[]): Promise<void> {
    checkLossPoints(points)
    if (points.length === 0) return
    // One statement cannot upsert a row twice: a repeated epoch keeps its last point, as the SQLite store does.
    const latest = [...new Map(points.map((p) => [p.epoch, p])).values()]
    // One statement for all points: unnest the columns as arrays.
    await this.db.query(
      `INSERT INTO losses (job_id, epoch, loss, val_loss, at, metrics, lr)
       SELECT $1, * FROM unnest($2::int[], $3::float8[], $4::float8[], $5::bigint[], $6::text[], $7::float8[])
       ON CONFLICT (job_id, epoch) DO UPDATE SET loss = excluded.loss, val_loss = excluded.val_loss, at = excluded.at,
         metrics = excluded.metrics, lr = excluded.lr`,
      [
        jobId, latest.map((p) => p.epoch), latest.map((p) => p.loss), latest.map((p) => p.valLoss ?? null), latest.map((p) => p.at),
        latest.map((p) => (p.metrics ? JSON.stringify(p.metrics) : null)), latest.map((p) => p.lr ?? null),
      ],
    )
  }

  async list(jobId: string, page?: { afterEpoch: number; limit: number }): Promise<LossPoint[]> {
    const { rows } = page === undefined
      ? await this.db.query<LossRow>('SELECT * FROM losses WHERE job_id = $1 ORDER BY epoch', [jobId])
      : await this.db.query<LossRow>('SELECT * FROM losses WHERE job_id = $1 AND epoch > $2 ORDER BY epoch LIMIT $3', [jobId, page.afterEpoch, page.limit])
    return rows.map(toLossPoint)
  }

  async truncateAfter(jobId: string, epoch: number): Promise<number> {
    return (await this.db.query('DELETE FROM losses WHERE job_id = $1 AND epoch > $2', [jobId, epoch])).rowCount ?? 0
  }

  async at(jobId: string, epoch: number): Promise<LossPoint | undefined> {
    const { rows } = await this.db.query<LossRow>('SELECT * FROM losses WHERE job_id = $1 AND epoch = $2', [jobId, epoch])
    return rows.length === 0 ? undefined : toLossPoint(rows[0])
  }

  async bestUpTo(jobId: string, epoch: number): Promise<number | null> {
    const { rows } = await this.db.query<{ best: number | null }>('SELECT MIN(loss) AS best FROM losses WHERE job_id = $1 AND epoch <= $2', [jobId, epoch])
    return rows[0].best
  }
}
