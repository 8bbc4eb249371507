/**
 * A small HTTP client for the jobs API of a running service, plus bounded polling: the
 * lifecycle tests wait for states, never for durations.
 */
import type { JobRequest } from './job-specs.js'
import type { LossBody } from '../../src/http/presenters/job.js'

export interface JobView {
  id: string
  name: string
  status: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled'
  model: Record<string, unknown>
  training: Record<string, unknown>
  data: Record<string, unknown>
  progress: { epoch: number; epochs: number }
  stopped_early: boolean
  loss: number | null
  best_loss: number | null
  error: { code: string; message: string } | null
  attempt: number
  checkpoint: { epoch: number; created_at: string } | null
  created_at: string
  started_at: string | null
  finished_at: string | null
}

/** One point of GET /jobs/{id}/losses, as the service presents it. */
export type LossView = LossBody

export class JobsClient {
  constructor(readonly baseUrl: string) {}

  async submit(job: JobRequest): Promise<JobView> {
    const response = await fetch(`${this.baseUrl}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(job),
    })
    if (response.status !== 202) throw new Error(`POST /jobs answered ${response.status}: ${await response.text()}`)
    return (await response.json()) as JobView
  }

  async job(id: string): Promise<JobView> {
    const response = await fetch(`${this.baseUrl}/jobs/${id}`)
    if (response.status !== 200) throw new Error(`GET /jobs/${id} answered ${response.status}: ${await response.text()}`)
    return (await response.json()) as JobView
  }

  async jobs(ids: readonly string[]): Promise<JobView[]> {
    return Promise.all(ids.map((id) => this.job(id)))
  }

  /** Jobs running right now, read in one query (a consistent snapshot, unlike polling each job). */
  async runningCount(): Promise<number> {
    const response = await fetch(`${this.baseUrl}/jobs?status=running&limit=100`)
    if (response.status !== 200) throw new Error(`GET /jobs answered ${response.status}: ${await response.text()}`)
    return ((await response.json()) as { items: JobView[] }).items.length
  }

  /** Every job, newest first (follows the cursor). */
  async list(): Promise<JobView[]> {
    const all: JobView[] = []
    let cursor: string | null = null
    do {
      const query: string = cursor === null ? '?limit=100' : `?limit=100&cursor=${encodeURIComponent(cursor)}`
      const response = await fetch(`${this.baseUrl}/jobs${query}`)
      if (response.status !== 200) throw new Error(`GET /jobs answered ${response.status}: ${await response.text()}`)
      const page = (await response.json()) as { items: JobView[]; next_cursor: string | null }
      all.push(...page.items)
      cursor = page.next_cursor
    } while (cursor !== null)
    return all
  }

  async losses(id: string): Promise<LossView[]> {
    const response = await fetch(`${this.baseUrl}/jobs/${id}/losses`)
    if (response.status !== 200) throw new Error(`GET /jobs/${id}/losses answered ${response.status}: ${await response.text()}`)
    return ((await response.json()) as { losses: LossView[] }).losses
  }

  /** Polls the jobs until `done` holds for the list; returns that list. */
  async waitForJobs(ids: readonly string[], what: string, done: (jobs: JobView[]) => boolean, timeoutMs = 30_000): Promise<JobView[]> {
    let last: JobView[] = []
    return waitFor(what, async () => {
      last = await this.jobs(ids)
      return done(last) ? last : undefined
    }, timeoutMs, () => JSON.stringify(last.map((j) => ({ id: j.id, status: j.status, progress: j.progress, attempt: j.attempt, checkpoint: j.checkpoint?.epoch, error: j.error }))))
  }

  /**
   * Polls the jobs until `done` holds for the list, however long that takes while training
   * moves: fails only when a running job's epoch (or, with nothing running, any job's state)
   * has not changed for `stallMs`. For a loaded machine, where a fixed deadline measures load.
   */
  async waitForJobsWhileProgressing(ids: readonly string[], what: string, done: (jobs: JobView[]) => boolean, stallMs: number): Promise<JobView[]> {
    /** Per job: its last seen (status, epoch) and when that was first seen. */
    const seen = new Map<string, { state: string; since: number }>()
    let lastChange = Date.now()
    for (;;) {
      const jobs = await this.jobs(ids)
      if (done(jobs)) return jobs
      const now = Date.now()
      for (const j of jobs) {
        const state = `${j.status}@${j.progress.epoch}`
        if (seen.get(j.id)?.state !== state) {
          seen.set(j.id, { state, since: now })
          lastChange = now
        }
      }
      const stuck = jobs.find((j) => j.status === 'running' && now - seen.get(j.id)!.since > stallMs)
      if (stuck !== undefined || now - lastChange > stallMs) {
        const states = jobs.map((j) => ({ id: j.id, status: j.status, epoch: j.progress.epoch, checkpoint: j.checkpoint?.epoch, attempt: j.attempt, error: j.error }))
        const why = stuck ? `job ${stuck.id} running without a new epoch` : 'no job changed state'
        throw new Error(`waiting for: ${what}: ${why} for ${stallMs} ms; jobs: ${JSON.stringify(states)}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }

  /** Waits until every job has ended (succeeded, failed or cancelled). */
  waitForFinished(ids: readonly string[], timeoutMs = 60_000): Promise<JobView[]> {
    return this.waitForJobs(ids, 'every job finished', (jobs) => jobs.every((j) => ['succeeded', 'failed', 'cancelled'].includes(j.status)), timeoutMs)
  }
}

/**
 * Calls `probe` every `intervalMs` until it returns a value (not undefined); throws with
 * `what` (and `describe()`, the last state seen) when `timeoutMs` passes first.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
  describe: () => string = () => '',
  intervalMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what} ${describe()}`)
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}
