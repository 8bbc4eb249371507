import { CheckpointsRepository } from './checkpoints-repository.js'
import { openDatabase, type Database, type OpenDatabaseOptions } from './database.js'
import { JobsRepository } from './jobs-repository.js'
import { LossesRepository } from './losses-repository.js'
import type { CheckpointMeta, CheckpointRecord, JobOutcome, JobProgress, JobRecord, NewCheckpoint, NewLossPoint } from './types.js'

/** What a worker writes after one or more epochs; applied all-or-nothing. */
export interface EpochUpdate {
  /** Loss points for the epochs just completed (each epoch once; a repeat replaces). */
  points: readonly NewLossPoint[]
  progress: JobProgress
  checkpoint?: NewCheckpoint
  /** Intermediate checkpoints to keep (default 2). */
  keepCheckpoints?: number
}

export interface ResumeOptions {
  /** Epoch to rewind to; defaults to the latest checkpoint's epoch, or 0 when there is none. */
  epoch?: number
  /** Defaults to the stored loss point at `epoch` (null at epoch 0). */
  loss?: number | null
  /** Defaults to the lowest stored loss up to `epoch`. */
  bestLoss?: number | null
}

export interface ResumePoint {
  /** The checkpoint to restore; undefined means start from scratch (epoch 0). */
  checkpoint: CheckpointRecord | undefined
  progress: JobProgress
  droppedLossPoints: number
  droppedCheckpoints: number
}

/**
 * The three repositories over one connection, plus the multi-table writes a
 * worker makes. Each of those runs in one transaction and only while the
 * worker still holds the job's lease, so a crash (or a reaped zombie worker)
 * can never leave loss history, checkpoints and progress disagreeing.
 */
export class Storage {
  readonly db: Database
  readonly jobs: JobsRepository
  readonly checkpoints: CheckpointsRepository
  readonly losses: LossesRepository

  constructor(db: Database) {
    this.db = db
    this.jobs = new JobsRepository(db)
    this.checkpoints = new CheckpointsRepository(db)
    this.losses = new LossesRepository(db)
  }

  /** Loss points + progress (+ optional checkpoint) atomically. False, with nothing written, if `owner` lost the lease. */
  recordEpochs(jobId: string, owner: string, update: EpochUpdate, now: number): boolean {
    return this.db.transaction(() => {
      if (!this.jobs.isOwnedBy(jobId, owner)) return false
      this.applyUpdate(jobId, update, now)
      this.jobs.recordProgress(jobId, owner, update.progress, now)
      return true
    }).immediate()
  }

  /** Saves a checkpoint only while `owner` holds the lease; undefined otherwise. */
  saveCheckpoint(jobId: string, owner: string, checkpoint: NewCheckpoint, now: number, keep = 2): CheckpointMeta | undefined {
    return this.db.transaction(() => {
      if (!this.jobs.isOwnedBy(jobId, owner)) return undefined
      return this.checkpoints.save(jobId, checkpoint, now, keep)
    }).immediate()
  }

  /**
   * Rewinds a (re)claimed job to a checkpoint in one transaction: loss points
   * and checkpoints after it are dropped and progress reset, so the resumed run
   * writes each later epoch exactly once. Undefined if `owner` lost the lease.
   */
  resumeFromCheckpoint(jobId: string, owner: string, now: number, options: ResumeOptions = {}): ResumePoint | undefined {
    return this.db.transaction((): ResumePoint | undefined => {
      if (!this.jobs.isOwnedBy(jobId, owner)) return undefined
      const epoch = options.epoch ?? this.checkpoints.latestMeta(jobId)?.epoch ?? 0
      const checkpoint = epoch === 0 ? undefined : this.checkpoints.at(jobId, epoch)
      if (epoch !== 0 && checkpoint === undefined) {
        throw new RangeError(`job ${jobId} has no checkpoint at epoch ${epoch} to resume from`)
      }
      const droppedLossPoints = this.losses.truncateAfter(jobId, epoch)
      const droppedCheckpoints = this.checkpoints.deleteAfter(jobId, epoch)
      const progress: JobProgress = {
        epoch,
        loss: options.loss !== undefined ? options.loss : (this.losses.at(jobId, epoch)?.loss ?? null),
        bestLoss: options.bestLoss !== undefined ? options.bestLoss : this.losses.bestUpTo(jobId, epoch),
      }
      this.jobs.resetProgressTo(jobId, owner, progress, now)
      return { checkpoint, progress, droppedLossPoints, droppedCheckpoints }
    }).immediate()
  }

  /**
   * Ends the job, first applying a last update (e.g. final loss points and the
   * final checkpoint) in the same transaction, so a succeeded job always has
   * its final checkpoint. Undefined, with nothing written, if `owner` lost the lease.
   */
  finishJob(jobId: string, owner: string, outcome: JobOutcome, now: number, lastUpdate?: EpochUpdate): JobRecord | undefined {
    return this.db.transaction(() => {
      if (!this.jobs.isOwnedBy(jobId, owner)) return undefined
      if (lastUpdate !== undefined) {
        this.applyUpdate(jobId, lastUpdate, now)
        this.jobs.recordProgress(jobId, owner, lastUpdate.progress, now)
      }
      return this.jobs.finish(jobId, owner, outcome, now)
    }).immediate()
  }

  close(): void {
    if (this.db.open) this.db.close()
  }

  private applyUpdate(jobId: string, update: EpochUpdate, now: number): void {
    if (update.points.length > 0) this.losses.append(jobId, update.points)
    if (update.checkpoint !== undefined) this.checkpoints.save(jobId, update.checkpoint, now, update.keepCheckpoints ?? 2)
  }
}

export function openStorage(options: OpenDatabaseOptions): Storage {
  return new Storage(openDatabase(options))
}
