import { randomUUID } from 'node:crypto'
import type { ModelsStore } from '../storage.js'
import type { AliasRecord, ModelRecord, ModelVersionRecord, NewCheckpoint, NewJob, VersionSource } from '../types.js'
import { PgCheckpointsRepository } from './checkpoints-repository.js'
import type { Session } from './session.js'

interface VersionRow { name: string; version: number; job_id: string; source: VersionSource; created_at: number }
interface ModelRow { name: string; last_version: number; created_at: number }
interface AliasRow { name: string; alias: string; version: number }

const FOREIGN_KEY_VIOLATION = '23503'

const toVersion = (r: VersionRow): ModelVersionRecord => ({ name: r.name, version: r.version, jobId: r.job_id, source: r.source, createdAt: r.created_at })

/**
 * The registry tables on PostgreSQL (migration 0004_models). Versions are inserted by the
 * trigger on `jobs`, so this repository only reads them; aliases are plain upserts.
 */
export class PgModelsRepository implements ModelsStore {
  constructor(private readonly db: Session) {}

  private async assemble(where: string, values: unknown[]): Promise<ModelRecord[]> {
    return this.db.transaction(async (tx) => {
      const models = (await tx.query<ModelRow>(`SELECT * FROM models ${where} ORDER BY name`, values)).rows
      const versions = (await tx.query<VersionRow>(`SELECT * FROM model_versions ${where} ORDER BY name, version`, values)).rows
      const aliases = (await tx.query<AliasRow>(`SELECT name, alias, version FROM model_aliases ${where} ORDER BY name, alias`, values)).rows
      const byName = new Map<string, ModelRecord>(models.map((m) => [m.name, { name: m.name, lastVersion: m.last_version, createdAt: m.created_at, versions: [], aliases: {} }]))
      for (const v of versions) byName.get(v.name)?.versions.push(toVersion(v))
      for (const a of aliases) {
        const m = byName.get(a.name)
        if (m) m.aliases[a.alias] = a.version
      }
      return [...byName.values()].filter((m) => m.versions.length > 0)
    })
  }

  list(): Promise<ModelRecord[]> {
    return this.assemble('', [])
  }

  async get(name: string): Promise<ModelRecord | undefined> {
    return (await this.assemble('WHERE name = $1', [name]))[0]
  }

  private async one(sql: string, values: unknown[]): Promise<ModelVersionRecord | undefined> {
    const { rows } = await this.db.query<VersionRow>(sql, values)
    return rows.length === 0 ? undefined : toVersion(rows[0])
  }

  version(name: string, version: number): Promise<ModelVersionRecord | undefined> {
    return this.one('SELECT * FROM model_versions WHERE name = $1 AND version = $2', [name, version])
  }

  latest(name: string): Promise<ModelVersionRecord | undefined> {
    return this.one('SELECT * FROM model_versions WHERE name = $1 ORDER BY version DESC LIMIT 1', [name])
  }

  versionOfJob(jobId: string): Promise<ModelVersionRecord | undefined> {
    return this.one('SELECT * FROM model_versions WHERE job_id = $1', [jobId])
  }

  resolveAlias(name: string, alias: string): Promise<ModelVersionRecord | undefined> {
    return this.one('SELECT v.* FROM model_aliases a JOIN model_versions v ON v.name = a.name AND v.version = a.version WHERE a.name = $1 AND a.alias = $2', [name, alias])
  }

  async setAlias(name: string, alias: string, version: number, now: number): Promise<boolean> {
    try {
      const { rowCount } = await this.db.query(
        `INSERT INTO model_aliases (name, alias, version, updated_at)
         SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM model_versions WHERE name = $1 AND version = $3)
         ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at`,
        [name, alias, version, now],
      )
      return (rowCount ?? 0) > 0
    } catch (err) {
      // The version was deleted between the EXISTS check and the foreign-key check: it is gone.
      if ((err as { code?: string }).code === FOREIGN_KEY_VIOLATION) return false
      throw err
    }
  }

  async deleteAlias(name: string, alias: string): Promise<boolean> {
    return ((await this.db.query('DELETE FROM model_aliases WHERE name = $1 AND alias = $2', [name, alias])).rowCount ?? 0) > 0
  }

  async aliasesOfJob(jobId: string): Promise<AliasRecord[]> {
    const { rows } = await this.db.query<AliasRow>(
      'SELECT a.name, a.alias, a.version FROM model_aliases a JOIN model_versions v ON v.name = a.name AND v.version = a.version WHERE v.job_id = $1 ORDER BY a.alias',
      [jobId],
    )
    return rows
  }

  insertImported(job: NewJob, checkpoint: NewCheckpoint, now: number): Promise<ModelVersionRecord> {
    return this.db.transaction(async (tx) => {
      const id = randomUUID()
      await tx.query(
        `INSERT INTO jobs (id, name, status, spec, data_summary, epochs, progress_epoch, created_at, started_at, finished_at, updated_at)
         VALUES ($1, $2, 'succeeded', $3, $4, $5, $6, $7, $7, $7, $7)`,
        [id, job.name, JSON.stringify(job.spec), JSON.stringify(job.dataSummary), job.epochs, checkpoint.epoch, now],
      )
      await new PgCheckpointsRepository(tx).save(id, { ...checkpoint, isFinal: true }, now)
      return (await new PgModelsRepository(tx).versionOfJob(id))!
    })
  }
}
