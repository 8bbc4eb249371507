import type { CheckpointsStore, EpochUpdate, JobsStore, LossesStore, ModelsStore, ProgressStore, ResumeOptions, ResumePoint, Storage, StorageHealth } from '../storage.js'
import { promised } from '../synchronous.js'
import type { CheckpointMeta, JobOutcome, JobProgress, JobRecord, LeaseOwner, NewCheckpoint } from '../types.js'
import { SqliteCheckpointsRepository } from './checkpoints-repository.js'
import { defaultMigrationsDir, listMigrationFiles, newestVersion } from '../migrations.js'
import { openDatabase, type Database, type OpenDatabaseOptions } from './database.js'
import { SqliteJobsRepository } from './jobs-repository.js'
import { SqliteLossesRepository } from './losses-repository.js'
import { SqliteModelsRepository } from './models-repository.js'
import { SqliteProgressRepository } from './progress-repository.js'
import { currentVersion } from './migrate.js'
import { holdSqliteNodeId } from './node-lock.js'
import type { NodeIdHold } from '../node-id.js'

/**
 * Storage in one SQLite file (the embedded default). better-sqlite3 is synchronous: each
 * method does its work at once and returns a settled Promise; the multi-table writes are
 * IMMEDIATE transactions, which also serialise them against other processes on the file.
 */
export class SqliteStorage implements Storage {
  readonly dialect = 'sqlite' as const
  readonly location: string
  readonly db: Database
  readonly jobs: JobsStore
  readonly checkpoints: CheckpointsStore
  readonly losses: LossesStore
  readonly progress: ProgressStore
  readonly models: ModelsStore
  /** The synchronous repositories, for use inside this class's transactions. */
  private readonly sync: { jobs: SqliteJobsRepository; checkpoints: SqliteCheckpointsRepository; losses: SqliteLossesRepository }
  /** Newest migration this code ships; read once (the folder does not change while running). */
  private readonly expectedVersion: number

  constructor(db: Database, options: { location: string; migrationsDir?: string }) {
    this.db = db
    this.location = options.location
    this.sync = { jobs: new SqliteJobsRepository(db), checkpoints: new SqliteCheckpointsRepository(db), losses: new SqliteLossesRepository(db) }
    this.jobs = promised<JobsStore>(this.sync.jobs)
    this.checkpoints = promised<CheckpointsStore>(this.sync.checkpoints)
    this.losses = promised<LossesStore>(this.sync.losses)
    this.progress = promised<ProgressStore>(new SqliteProgressRepository(db))
    this.models = promised<ModelsStore>(new SqliteModelsRepository(db))
    this.expectedVersion = newestVersion(listMigrationFiles(options.migrationsDir ?? defaultMigrationsDir('sqlite')))
  }

  async recordEpochs(jobId: string, owner: LeaseOwner, update: EpochUpdate, now: number): Promise<boolean> {
    return this.db.transaction(() => {
      if (!this.sync.jobs.isOwnedBy(jobId, owner)) return false
      this.applyUpdate(jobId, owner, update, now)
      return true
    }).immediate()
  }

  async saveCheckpoint(jobId: string, owner: LeaseOwner, checkpoint: NewCheckpoint, now: number, keep = 2): Promise<CheckpointMeta | undefined> {
    return this.db.transaction(() => {
      if (!this.sync.jobs.isOwnedBy(jobId, owner)) return undefined
      return this.sync.checkpoints.save(jobId, checkpoint, now, keep)
    }).immediate()
  }

  async resumeFromCheckpoint(jobId: string, owner: LeaseOwner, now: number, options: ResumeOptions = {}): Promise<ResumePoint | undefined> {
    const { jobs, checkpoints, losses } = this.sync
    return this.db.transaction((): ResumePoint | undefined => {
      if (!jobs.isOwnedBy(jobId, owner)) return undefined
      const epoch = options.epoch ?? checkpoints.latestMeta(jobId)?.epoch ?? 0
      const checkpoint = epoch === 0 ? undefined : checkpoints.at(jobId, epoch)
      if (epoch !== 0 && checkpoint === undefined) {
        throw new RangeError(`job ${jobId} has no checkpoint at epoch ${epoch} to resume from`)
      }
      const droppedLossPoints = losses.truncateAfter(jobId, epoch)
      const droppedCheckpoints = checkpoints.deleteAfter(jobId, epoch)
      const progress: JobProgress = {
        epoch,
        loss: options.loss !== undefined ? options.loss : (losses.at(jobId, epoch)?.loss ?? null),
        bestLoss: options.bestLoss !== undefined ? options.bestLoss : losses.bestUpTo(jobId, epoch),
      }
      jobs.recordProgress(jobId, owner, progress, now)
      jobs.setClaimEpoch(jobId, owner, epoch)
      return { checkpoint, progress, droppedLossPoints, droppedCheckpoints }
    }).immediate()
  }

  async finishJob(jobId: string, owner: LeaseOwner, outcome: JobOutcome, now: number, lastUpdate?: EpochUpdate): Promise<JobRecord | undefined> {
    return this.db.transaction(() => {
      if (!this.sync.jobs.isOwnedBy(jobId, owner)) return undefined
      if (lastUpdate !== undefined) this.applyUpdate(jobId, owner, lastUpdate, now)
      return this.sync.jobs.finish(jobId, owner, outcome, now)
    }).immediate()
  }

  async checkHealth(): Promise<StorageHealth> {
    const reasons: string[] = []
    let writable = false
    try {
      // Taking the write lock proves the file is open, writable and not locked by someone else.
      this.db.prepare('BEGIN IMMEDIATE').run()
      this.db.prepare('ROLLBACK').run()
      writable = !this.db.readonly
      if (!writable) reasons.push('the database is open read-only')
    } catch (err) {
      reasons.push(`the database is not writable: ${(err as Error).message}`)
    }
    let migrated = false
    if (writable) {
      const version = currentVersion(this.db)
      migrated = version === this.expectedVersion
      if (!migrated) reasons.push(`the database schema is at version ${version}, this code expects ${this.expectedVersion}`)
    }
    return { writable, migrated, reasons }
  }

  /** SQLite cannot announce writes to other processes: they find new jobs by polling. */
  async watchQueue(): Promise<() => Promise<void>> {
    return async () => undefined
  }

  async holdNodeId(preferred: string): Promise<NodeIdHold> {
    return holdSqliteNodeId(this.db.name, preferred)
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close()
  }

  private applyUpdate(jobId: string, owner: LeaseOwner, update: EpochUpdate, now: number): void {
    if (update.points.length > 0) this.sync.losses.append(jobId, update.points)
    if (update.checkpoint !== undefined) this.sync.checkpoints.save(jobId, update.checkpoint, now, update.keepCheckpoints ?? 2)
    this.sync.jobs.recordProgress(jobId, owner, update.progress, now)
  }
}

/** Opens (creating folders and migrating as needed) a SQLite database file, or `:memory:`. */
export function openSqliteStorage(options: OpenDatabaseOptions): SqliteStorage {
  const db = openDatabase(options)
  try {
    return new SqliteStorage(db, { location: options.path, migrationsDir: options.migrationsDir })
  } catch (err) {
    db.close()
    throw err
  }
}
