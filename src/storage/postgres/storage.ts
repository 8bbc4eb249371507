import pg from 'pg'
import { defaultMigrationsDir, listMigrationFiles, newestVersion } from '../migrations.js'
import type { EpochUpdate, ResumeOptions, ResumePoint, Storage, StorageHealth } from '../storage.js'
import type { CheckpointMeta, JobOutcome, JobProgress, JobRecord, LeaseOwner, NewCheckpoint } from '../types.js'
import { PgCheckpointsRepository } from './checkpoints-repository.js'
import { PgJobsRepository, QUEUED_CHANNEL } from './jobs-repository.js'
import { PgModelsRepository } from './models-repository.js'
import { PgLossesRepository } from './losses-repository.js'
import { PgProgressRepository } from './progress-repository.js'
import { currentPgVersion, runPgMigrations } from './migrate.js'
import { PoolSession, numericTypes, type Session } from './session.js'
import { QueueListener } from './queue-listener.js'
import { holdPgNodeId } from './node-lock.js'
import type { NodeIdHold } from '../node-id.js'
import { postgresFault, postgresOpenError } from './faults.js'
import { isStorageFault } from '../errors.js'

export interface OpenPostgresOptions {
  /** `postgres://user:password@host:port/database` */
  url: string
  /** Defaults to `<package root>/migrations/postgres`. */
  migrationsDir?: string
  /** Connections in the pool (default 10). */
  poolSize?: number
}

/** The URL without its password, for logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password !== '') parsed.password = '***'
    return parsed.toString()
  } catch {
    return 'postgres://(unparsable URL)'
  }
}

/**
 * Storage on a PostgreSQL server shared by any number of API and worker nodes. Each
 * multi-table write is one transaction that first locks the job's row and checks the lease
 * (SELECT ... FOR UPDATE), so a reaper on another node cannot take the job over between the
 * check and the writes: a stale worker's writes are refused, never interleaved.
 */
export class PostgresStorage implements Storage {
  readonly dialect = 'postgres' as const
  readonly location: string
  readonly jobs: PgJobsRepository
  readonly checkpoints: PgCheckpointsRepository
  readonly losses: PgLossesRepository
  readonly progress: PgProgressRepository
  readonly models: PgModelsRepository
  private readonly session: PoolSession
  private readonly listener: QueueListener
  private closed: Promise<void> | null = null

  constructor(readonly pool: pg.Pool, private readonly options: { url: string; expectedVersion: number }) {
    this.location = redactUrl(options.url)
    this.session = new PoolSession(pool)
    this.jobs = new PgJobsRepository(this.session)
    this.checkpoints = new PgCheckpointsRepository(this.session)
    this.models = new PgModelsRepository(this.session)
    this.losses = new PgLossesRepository(this.session)
    this.progress = new PgProgressRepository(this.session)
    this.listener = new QueueListener(options.url, QUEUED_CHANNEL)
  }

  async recordEpochs(jobId: string, owner: LeaseOwner, update: EpochUpdate, now: number): Promise<boolean> {
    return this.session.transaction(async (tx) => {
      if (!(await new PgJobsRepository(tx).lockIfOwnedBy(jobId, owner))) return false
      await applyUpdate(tx, jobId, owner, update, now)
      return true
    })
  }

  async saveCheckpoint(jobId: string, owner: LeaseOwner, checkpoint: NewCheckpoint, now: number, keep = 2): Promise<CheckpointMeta | undefined> {
    return this.session.transaction(async (tx) => {
      if (!(await new PgJobsRepository(tx).lockIfOwnedBy(jobId, owner))) return undefined
      return new PgCheckpointsRepository(tx).save(jobId, checkpoint, now, keep)
    })
  }

  async resumeFromCheckpoint(jobId: string, owner: LeaseOwner, now: number, options: ResumeOptions = {}): Promise<ResumePoint | undefined> {
    return this.session.transaction(async (tx): Promise<ResumePoint | undefined> => {
      const jobs = new PgJobsRepository(tx)
      const checkpoints = new PgCheckpointsRepository(tx)
      const losses = new PgLossesRepository(tx)
      if (!(await jobs.lockIfOwnedBy(jobId, owner))) return undefined
      const epoch = options.epoch ?? (await checkpoints.latestMeta(jobId))?.epoch ?? 0
      const checkpoint = epoch === 0 ? undefined : await checkpoints.at(jobId, epoch)
      if (epoch !== 0 && checkpoint === undefined) {
        throw new RangeError(`job ${jobId} has no checkpoint at epoch ${epoch} to resume from`)
      }
      const droppedLossPoints = await losses.truncateAfter(jobId, epoch)
      const droppedCheckpoints = await checkpoints.deleteAfter(jobId, epoch)
      const progress: JobProgress = {
        epoch,
        loss: options.loss !== undefined ? options.loss : ((await losses.at(jobId, epoch))?.loss ?? null),
        bestLoss: options.bestLoss !== undefined ? options.bestLoss : await losses.bestUpTo(jobId, epoch),
      }
      await jobs.recordProgress(jobId, owner, progress, now)
      await jobs.setClaimEpoch(jobId, owner, epoch)
      return { checkpoint, progress, droppedLossPoints, droppedCheckpoints }
    })
  }

  async finishJob(jobId: string, owner: LeaseOwner, outcome: JobOutcome, now: number, lastUpdate?: EpochUpdate): Promise<JobRecord | undefined> {
    return this.session.transaction(async (tx) => {
      const jobs = new PgJobsRepository(tx)
      if (!(await jobs.lockIfOwnedBy(jobId, owner))) return undefined
      if (lastUpdate !== undefined) await applyUpdate(tx, jobId, owner, lastUpdate, now)
      return jobs.finish(jobId, owner, outcome, now)
    })
  }

  async checkHealth(): Promise<StorageHealth> {
    const reasons: string[] = []
    let writable = false
    let version = 0
    try {
      // A real write (one row of storage_probe): refused by a read-only server or session and
      // by a full disk. The timeouts keep a stuck server or a locked row from holding the probe.
      version = await this.session.transaction(async (tx) => {
        await tx.query('SET LOCAL statement_timeout = 2000')
        await tx.query('SET LOCAL lock_timeout = 1000')
        await tx.query('SAVEPOINT probe')
        await tx.query('UPDATE storage_probe SET written_at = $1 WHERE id = 1', [Date.now()]).catch(async (err: { code?: string }) => {
          // Before its migration (the migrations check reports that), an UPDATE matching no row
          // is still refused by a read-only server.
          if (err.code !== '42P01') throw err
          await tx.query('ROLLBACK TO SAVEPOINT probe')
          await tx.query('UPDATE schema_migrations SET version = version WHERE false')
        })
        return currentPgVersion(tx)
      })
      writable = true
    } catch (err) {
      // The session already turned a server fault into its typed error; a raw one is classified here.
      const fault = isStorageFault(err) ? err : postgresFault(err)
      reasons.push(`the database is not writable: ${fault === undefined ? (err as Error).message : `${fault.problem}. ${fault.advice}`}`)
    }
    let migrated = false
    if (writable) {
      migrated = version === this.options.expectedVersion
      if (!migrated) reasons.push(`the database schema is at version ${version}, this code expects ${this.options.expectedVersion}`)
    }
    return { writable, migrated, reasons }
  }

  /** Calls `onQueued` whenever any node queues a job (LISTEN/NOTIFY). */
  async watchQueue(onQueued: () => void): Promise<() => Promise<void>> {
    return this.listener.subscribe(onQueued)
  }

  holdNodeId(preferred: string): Promise<NodeIdHold> {
    return holdPgNodeId(this.options.url, preferred)
  }

  close(): Promise<void> {
    this.closed ??= Promise.all([this.listener.close(), this.pool.end()]).then(() => undefined)
    return this.closed
  }
}

async function applyUpdate(tx: Session, jobId: string, owner: LeaseOwner, update: EpochUpdate, now: number): Promise<void> {
  if (update.points.length > 0) await new PgLossesRepository(tx).append(jobId, update.points)
  if (update.checkpoint !== undefined) await new PgCheckpointsRepository(tx).save(jobId, update.checkpoint, now, update.keepCheckpoints ?? 2)
  await new PgJobsRepository(tx).recordProgress(jobId, owner, update.progress, now)
}

/** Connects, migrates (under an advisory lock) and returns the storage; the pool is closed again on failure. */
export async function openPostgresStorage(options: OpenPostgresOptions): Promise<PostgresStorage> {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    types: numericTypes,
    connectionTimeoutMillis: 10_000,
    application_name: 'seqserve',
  })
  // An idle connection the server drops (restart, failover) must not crash the process.
  pool.on('error', () => undefined)
  try {
    const dir = options.migrationsDir ?? defaultMigrationsDir('postgres')
    await runPgMigrations(pool, dir)
    return new PostgresStorage(pool, { url: options.url, expectedVersion: newestVersion(listMigrationFiles(dir)) })
  } catch (err) {
    await pool.end().catch(() => undefined)
    throw postgresOpenError(redactUrl(options.url), err)
  }
}
