import { checkKeep, checkpointBytes } from '../checks.js'
import type { CheckpointsStore } from '../storage.js'
import { toCheckpointMeta, type CheckpointMeta, type CheckpointRecord, type CheckpointRow, type NewCheckpoint } from '../types.js'
import type { Session } from './session.js'

type MetaRow = Omit<CheckpointRow, 'blob'>

const META_COLUMNS = 'id, job_id, epoch, is_final, format, created_at'

/**
 * Bytes per stored chunk. A bytea value (and a protocol message) is capped at 1 GB, so a
 * checkpoint is written as rows of this size: any model whose checkpoint fits in memory fits.
 */
export const CHECKPOINT_CHUNK_BYTES = 8 * 1024 * 1024

/** Checkpoints on PostgreSQL: metadata in `checkpoints`, the bytes in `checkpoint_chunks`. */
export class PgCheckpointsRepository implements CheckpointsStore {
  constructor(private readonly db: Session, private readonly chunkBytes = CHECKPOINT_CHUNK_BYTES) {}

  async save(jobId: string, checkpoint: NewCheckpoint, now: number, keep = 2): Promise<CheckpointMeta> {
    checkKeep(keep)
    const bytes = checkpointBytes(checkpoint)
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query<MetaRow>(
        `INSERT INTO checkpoints (job_id, epoch, is_final, format, byte_length, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (job_id, epoch) DO UPDATE SET
           is_final = excluded.is_final, format = excluded.format, byte_length = excluded.byte_length, created_at = excluded.created_at
         RETURNING ${META_COLUMNS}`,
        [jobId, checkpoint.epoch, checkpoint.isFinal ? 1 : 0, checkpoint.format, bytes.byteLength, now],
      )
      const id = rows[0].id
      await tx.query('DELETE FROM checkpoint_chunks WHERE checkpoint_id = $1', [id])
      for (let part = 0, offset = 0; offset < bytes.byteLength || part === 0; part++, offset += this.chunkBytes) {
        await tx.query('INSERT INTO checkpoint_chunks (checkpoint_id, part, data) VALUES ($1, $2, $3)', [
          id, part, bytes.subarray(offset, offset + this.chunkBytes),
        ])
      }
      await tx.query(
        `DELETE FROM checkpoints
         WHERE job_id = $1 AND is_final = 0 AND epoch NOT IN (
           SELECT epoch FROM checkpoints WHERE job_id = $1 AND is_final = 0 ORDER BY epoch DESC LIMIT $2
         )`,
        [jobId, keep],
      )
      return toCheckpointMeta(rows[0])
    })
  }

  async latest(jobId: string): Promise<CheckpointRecord | undefined> {
    return this.withBlob(await this.meta(`WHERE job_id = $1 ORDER BY epoch DESC LIMIT 1`, [jobId]))
  }

  async latestMeta(jobId: string): Promise<CheckpointMeta | undefined> {
    const row = await this.meta(`WHERE job_id = $1 ORDER BY epoch DESC LIMIT 1`, [jobId])
    return row === undefined ? undefined : toCheckpointMeta(row)
  }

  async latestMetaForJobs(jobIds: readonly string[]): Promise<Map<string, CheckpointMeta>> {
    const { rows } = await this.db.query<MetaRow>(
      `SELECT DISTINCT ON (job_id) ${META_COLUMNS} FROM checkpoints WHERE job_id = ANY($1::text[]) ORDER BY job_id, epoch DESC`,
      [jobIds],
    )
    return new Map(rows.map((row) => [row.job_id, toCheckpointMeta(row)]))
  }

  async final(jobId: string): Promise<CheckpointRecord | undefined> {
    return this.withBlob(await this.meta(`WHERE job_id = $1 AND is_final = 1 ORDER BY epoch DESC LIMIT 1`, [jobId]))
  }

  async listMeta(jobId: string): Promise<CheckpointMeta[]> {
    const { rows } = await this.db.query<MetaRow>(`SELECT ${META_COLUMNS} FROM checkpoints WHERE job_id = $1 ORDER BY epoch`, [jobId])
    return rows.map(toCheckpointMeta)
  }

  async at(jobId: string, epoch: number): Promise<CheckpointRecord | undefined> {
    return this.withBlob(await this.meta(`WHERE job_id = $1 AND epoch = $2`, [jobId, epoch]))
  }

  async deleteAfter(jobId: string, epoch: number): Promise<number> {
    return (await this.db.query('DELETE FROM checkpoints WHERE job_id = $1 AND epoch > $2', [jobId, epoch])).rowCount ?? 0
  }

  private async meta(where: string, values: unknown[]): Promise<MetaRow | undefined> {
    const { rows } = await this.db.query<MetaRow>(`SELECT ${META_COLUMNS} FROM checkpoints ${where}`, values)
    return rows[0]
  }

  private async withBlob(row: MetaRow | undefined): Promise<CheckpointRecord | undefined> {
    if (row === undefined) return undefined
    // One statement reads one snapshot; each chunk arrives as its own row message, far below the 1 GB cap.
    const { rows } = await this.db.query<{ data: Buffer }>('SELECT data FROM checkpoint_chunks WHERE checkpoint_id = $1 ORDER BY part', [row.id])
    const chunks = rows.map((r) => r.data)
    return { ...toCheckpointMeta(row), blob: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks) }
  }
}
