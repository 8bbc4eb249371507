/**
 * Direct access to a service's SQLite file while no service runs on it: what a killed
 * process left behind, and rows a test plants before starting one.
 */
import BetterSqlite3 from 'better-sqlite3'
import { decodeCheckpoint, type Checkpoint } from '../../src/engine/tasks/checkpoint.js'
import { summarizeData } from '../../src/engine/tasks/task.js'
import { openSqliteStorage } from '../../src/storage/sqlite/storage.js'
import type { JobRequest } from './job-specs.js'

export interface JobState {
  id: string
  status: string
  attempt: number
  progressEpoch: number
  leaseOwner: string | null
  cancelRequested: boolean
  /** Epochs of the stored checkpoints, ascending. */
  checkpoints: number[]
  /** Epochs of the stored loss points, ascending. */
  lossEpochs: number[]
}

/** Reads every job's state; the file must not be open in a running service's process. */
export function readJobStates(path: string): Map<string, JobState> {
  const db = new BetterSqlite3(path)
  try {
    const rows = db.prepare('SELECT id, status, attempt, progress_epoch, lease_owner, cancel_requested FROM jobs ORDER BY seq').all() as {
      id: string; status: string; attempt: number; progress_epoch: number; lease_owner: string | null; cancel_requested: number
    }[]
    const checkpoints = db.prepare<[string], number>('SELECT epoch FROM checkpoints WHERE job_id = ? ORDER BY epoch').pluck()
    const losses = db.prepare<[string], number>('SELECT epoch FROM losses WHERE job_id = ? ORDER BY epoch').pluck()
    return new Map(rows.map((r) => [r.id, {
      id: r.id, status: r.status, attempt: r.attempt, progressEpoch: r.progress_epoch, leaseOwner: r.lease_owner,
      cancelRequested: r.cancel_requested === 1, checkpoints: checkpoints.all(r.id), lossEpochs: losses.all(r.id),
    }]))
  } finally {
    db.close()
  }
}

/** The final checkpoint a finished job stored (its trained state), or undefined when it has none. */
export function finalCheckpoint(path: string, jobId: string): Checkpoint | undefined {
  const db = new BetterSqlite3(path, { readonly: true })
  try {
    const blob = db.prepare<[string], Buffer>('SELECT blob FROM checkpoints WHERE job_id = ? AND is_final = 1').pluck().get(jobId)
    return blob === undefined ? undefined : decodeCheckpoint(new Uint8Array(blob))
  } finally {
    db.close()
  }
}

/** The pid inside a lease owner (`host:pid:nonce`), so a test knows which process held a job. */
export function leaseOwnerPid(owner: string | null): number | null {
  const parts = owner?.split(':') ?? []
  return parts.length >= 3 ? Number(parts[parts.length - 2]) : null
}

/**
 * Inserts `job` as a queued job (migrating the file if needed), as POST /jobs would have,
 * then applies `columns` (raw column values, e.g. a running job whose lease already lapsed).
 */
export async function plantJob(path: string, job: JobRequest, columns: Record<string, string | number | null> = {}): Promise<string> {
  const storage = openSqliteStorage({ path })
  try {
    const spec = { model: job.model, data: job.data, training: job.training }
    const { id } = await storage.jobs.create({ name: job.name, spec, dataSummary: summarizeData(job.data), epochs: job.training.epochs }, Date.now())
    const names = Object.keys(columns)
    if (names.length > 0) {
      storage.db.prepare(`UPDATE jobs SET ${names.map((n) => `${n} = @${n}`).join(', ')} WHERE id = @id`).run({ ...columns, id })
    }
    return id
  } finally {
    await storage.close()
  }
}
