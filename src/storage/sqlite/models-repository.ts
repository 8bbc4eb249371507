import { randomUUID } from 'node:crypto'
import type BetterSqlite3 from 'better-sqlite3'
import type { ModelsStore } from '../storage.js'
import type { Synchronous } from '../synchronous.js'
import type { AliasRecord, ModelRecord, ModelVersionRecord, NewCheckpoint, NewJob, VersionSource } from '../types.js'

interface VersionRow { name: string; version: number; job_id: string; source: VersionSource; created_at: number }
interface ModelRow { name: string; last_version: number; created_at: number }
interface AliasRow { name: string; alias: string; version: number }

const toVersion = (r: VersionRow): ModelVersionRecord => ({ name: r.name, version: r.version, jobId: r.job_id, source: r.source, createdAt: r.created_at })

/**
 * The registry tables on SQLite (migration 0004_models). Versions are inserted by the
 * triggers on `jobs`, so this repository only reads them; aliases are plain upserts.
 */
export class SqliteModelsRepository implements Synchronous<ModelsStore> {
  constructor(private readonly db: BetterSqlite3.Database) {}

  private assemble(models: ModelRow[], versions: VersionRow[], aliases: AliasRow[]): ModelRecord[] {
    const byName = new Map<string, ModelRecord>(models.map((m) => [m.name, { name: m.name, lastVersion: m.last_version, createdAt: m.created_at, versions: [], aliases: {} }]))
    for (const v of versions) byName.get(v.name)?.versions.push(toVersion(v))
    for (const a of aliases) {
      const m = byName.get(a.name)
      if (m) m.aliases[a.alias] = a.version
    }
    // A model whose every version was deleted is not listed (its counter stays, so numbers are not reused).
    return [...byName.values()].filter((m) => m.versions.length > 0)
  }

  list(): ModelRecord[] {
    return this.db.transaction(() => this.assemble(
      this.db.prepare<[], ModelRow>('SELECT * FROM models ORDER BY name').all(),
      this.db.prepare<[], VersionRow>('SELECT * FROM model_versions ORDER BY name, version').all(),
      this.db.prepare<[], AliasRow>('SELECT name, alias, version FROM model_aliases ORDER BY name, alias').all(),
    ))()
  }

  get(name: string): ModelRecord | undefined {
    return this.db.transaction(() => this.assemble(
      this.db.prepare<[string], ModelRow>('SELECT * FROM models WHERE name = ?').all(name),
      this.db.prepare<[string], VersionRow>('SELECT * FROM model_versions WHERE name = ? ORDER BY version').all(name),
      this.db.prepare<[string], AliasRow>('SELECT name, alias, version FROM model_aliases WHERE name = ? ORDER BY alias').all(name),
    ))()[0]
  }

  version(name: string, version: number): ModelVersionRecord | undefined {
    const row = this.db.prepare<[string, number], VersionRow>('SELECT * FROM model_versions WHERE name = ? AND version = ?').get(name, version)
    return row && toVersion(row)
  }

  latest(name: string): ModelVersionRecord | undefined {
    const row = this.db.prepare<[string], VersionRow>('SELECT * FROM model_versions WHERE name = ? ORDER BY version DESC LIMIT 1').get(name)
    return row && toVersion(row)
  }

  versionOfJob(jobId: string): ModelVersionRecord | undefined {
    const row = this.db.prepare<[string], VersionRow>('SELECT * FROM model_versions WHERE job_id = ?').get(jobId)
    return row && toVersion(row)
  }

  resolveAlias(name: string, alias: string): ModelVersionRecord | undefined {
    const row = this.db.prepare<[string, string], VersionRow>(
      'SELECT v.* FROM model_aliases a JOIN model_versions v ON v.name = a.name AND v.version = a.version WHERE a.name = ? AND a.alias = ?',
    ).get(name, alias)
    return row && toVersion(row)
  }

  setAlias(name: string, alias: string, version: number, now: number): boolean {
    return this.db.transaction(() => {
      if (!this.version(name, version)) return false
      this.db.prepare(`INSERT INTO model_aliases (name, alias, version, updated_at) VALUES (?, ?, ?, ?)
        ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at`).run(name, alias, version, now)
      return true
    }).immediate()
  }

  deleteAlias(name: string, alias: string): boolean {
    return this.db.prepare('DELETE FROM model_aliases WHERE name = ? AND alias = ?').run(name, alias).changes > 0
  }

  aliasesOfJob(jobId: string): AliasRecord[] {
    return this.db.prepare<[string], AliasRow>(
      'SELECT a.name, a.alias, a.version FROM model_aliases a JOIN model_versions v ON v.name = a.name AND v.version = a.version WHERE v.job_id = ? ORDER BY a.alias',
    ).all(jobId)
  }

  insertImported(job: NewJob, checkpoint: NewCheckpoint, now: number): ModelVersionRecord {
    return this.db.transaction(() => {
      const id = randomUUID()
      this.db.prepare(`INSERT INTO jobs (id, name, status, spec, data_summary, epochs, progress_epoch, created_at, started_at, finished_at, updated_at)
        VALUES (?, ?, 'succeeded', ?, ?, ?, ?, ?, ?, ?, ?)`).run(id, job.name, JSON.stringify(job.spec), JSON.stringify(job.dataSummary), job.epochs, checkpoint.epoch, now, now, now, now)
      this.db.prepare('INSERT INTO checkpoints (job_id, epoch, is_final, format, blob, created_at) VALUES (?, ?, 1, ?, ?, ?)')
        .run(id, checkpoint.epoch, checkpoint.format, Buffer.from(checkpoint.blob.buffer, checkpoint.blob.byteOffset, checkpoint.blob.byteLength), now)
      return this.versionOfJob(id)!
    }).immediate()
  }
}
