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
import { translateSqliteError } from './faults.js'
import { SqliteHealth } from './health.js'
import { WalKeeper } from './wal.js'
import { isStorageFault } from '../errors.js'
import { sqliteOpenError } from '../open-errors.js'

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
  /** Readiness state: probe writes, free space, known damage. */
  readonly health: SqliteHealth
  /** Keeps a file database's WAL bounded; undefined for `:memory:`. */
  readonly wal: WalKeeper | undefined

  constructor(db: Database, options: { location: string; migrationsDir?: string }) {
    this.db = db
    this.location = options.location
    this.health = new SqliteHealth(db, db.memory ? null : options.location)
    this.wal = db.memory ? undefined : new WalKeeper(db, `${db.name}-wal`)
    this.sync = { jobs: new SqliteJobsRepository(db), checkpoints: new SqliteCheckpointsRepository(db), losses: new SqliteLossesRepository(db) }
    const translate = (err: unknown) => this.fault(err)
    this.jobs = promised<JobsStore>(this.sync.jobs, translate)
    this.checkpoints = promised<CheckpointsStore>(this.sync.checkpoints, translate)
    this.losses = promised<LossesStore>(this.sync.losses, translate)
    this.progress = promised<ProgressStore>(new SqliteProgressRepository(db), translate)
    this.models = promised<ModelsStore>(new SqliteModelsRepository(db), translate)
    this.expectedVersion = newestVersion(listMigrationFiles(options.migrationsDir ?? defaultMigrationsDir('sqlite')))
  }

  async recordEpochs(jobId: string, owner: LeaseOwner, update: EpochUpdate, now: number): Promise<boolean> {
    return this.write(() => {
      if (!this.sync.jobs.isOwnedBy(jobId, owner)) return false
      this.applyUpdate(jobId, owner, update, now)
      return true
    })
  }

  async saveCheckpoint(jobId: string, owner: LeaseOwner, checkpoint: NewCheckpoint, now: number, keep = 2): Promise<CheckpointMeta | undefined> {
    return this.write(() => {
      if (!this.sync.jobs.isOwnedBy(jobId, owner)) return undefined
      return this.sync.checkpoints.save(jobId, checkpoint, now, keep)
    })
  }

  async resumeFromCheckpoint(jobId: string, owner: LeaseOwner, now: number, options: ResumeOptions = {}): Promise<ResumePoint | undefined> {
    const { jobs, checkpoints, losses } = this.sync
    return this.write((): ResumePoint | undefined => {
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
    })
  }

  async finishJob(jobId: string, owner: LeaseOwner, outcome: JobOutcome, now: number, lastUpdate?: EpochUpdate): Promise<JobRecord | undefined> {
    return this.write(() => {
      if (!this.sync.jobs.isOwnedBy(jobId, owner)) return undefined
      if (lastUpdate !== undefined) this.applyUpdate(jobId, owner, lastUpdate, now)
      return this.sync.jobs.finish(jobId, owner, outcome, now)
    })
  }

  async checkHealth(): Promise<StorageHealth> {
    const reasons = await this.health.problems()
    const writable = reasons.length === 0
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
    this.wal?.stop()
    if (this.db.open) this.db.close()
  }

  /** One IMMEDIATE transaction; the database's own errors leave it as typed storage faults. */
  private write<T>(work: () => T): T {
    try {
      return this.db.transaction(work).immediate()
    } catch (err) {
      throw this.fault(err)
    }
  }

  /** `err` as a typed storage fault when it is one (noted for readiness), else unchanged. */
  private fault(err: unknown): unknown {
    const translated = translateSqliteError(err)
    if (isStorageFault(translated)) this.health.note(translated)
    return translated
  }

  private applyUpdate(jobId: string, owner: LeaseOwner, update: EpochUpdate, now: number): void {
    if (update.points.length > 0) this.sync.losses.append(jobId, update.points)
    if (update.checkpoint !== undefined) this.sync.checkpoints.save(jobId, update.checkpoint, now, update.keepCheckpoints ?? 2)
    this.sync.jobs.recordProgress(jobId, owner, update.progress, now)
  }
}

/**
 * Opens (creating folders and migrating as needed) a SQLite database file, or `:memory:`.
 * A file that cannot be used (unreadable, not a database, damaged header, read-only) is a
 * DatabaseOpenError whose one-line message names the path, the problem and what to do.
 * Damage deeper in the file (PRAGMA quick_check) does not stop it: readiness reports it.
 */
export function openSqliteStorage(options: OpenDatabaseOptions): SqliteStorage {
  let db: Database | undefined
  try {
    db = openDatabase(options)
    const storage = new SqliteStorage(db, { location: options.path, migrationsDir: options.migrationsDir })
    refuseReadOnly(db)
    storage.wal?.start()
    return storage
  } catch (err) {
    db?.close()
    throw sqliteOpenError(options.path, err)
  }
}

/** A file that opened read-only (a read-only mount, file or directory) cannot do the service's work. */
function refuseReadOnly(db: Database): void {
  if (db.readonly) throw Object.assign(new Error('the database opened read-only'), { code: 'SQLITE_READONLY' })
  try {
    db.prepare('UPDATE storage_probe SET written_at = ? WHERE id = 1').run(Date.now())
  } catch (err) {
    // Only a read-only file stops the start: a full disk or a busy file can recover, and readiness reports them.
    if (/^SQLITE_READONLY/.test(String((err as { code?: unknown }).code))) throw err
  }
}
