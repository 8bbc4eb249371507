import type { JobRunnerEvents } from './runner.js'

/** Waiting on this wakes on a change to any job (the all-jobs stream). */
export const ANY_JOB = '*'

/**
 * Wake-ups for event streams. Streams read everything from storage; this only tells them
 * when to look again: at once when this process's runner persisted an epoch or a status,
 * else after a poll interval (changes made by another process, or a missed signal).
 */
export class JobWakeups {
  private readonly waiting = new Map<string, Set<() => void>>()

  notify(jobId: string): void {
    if (jobId !== ANY_JOB) this.notify(ANY_JOB)
    const set = this.waiting.get(jobId)
    if (!set) return
    this.waiting.delete(jobId)
    for (const wake of set) wake()
  }

  /** Resolves on the next notify(jobId), after `pollMs`, or when `signal` aborts. */
  wait(jobId: string, pollMs: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve()
      let set = this.waiting.get(jobId)
      if (!set) this.waiting.set(jobId, (set = new Set()))
      const done = () => {
        clearTimeout(timer)
        signal.removeEventListener('abort', done)
        this.waiting.get(jobId)?.delete(done)
        resolve()
      }
      const timer = setTimeout(done, pollMs)
      signal.addEventListener('abort', done, { once: true })
      set.add(done)
    })
  }

  /** Runner observer: every lifecycle event of a job is a reason to look again. */
  readonly runnerEvents: Partial<JobRunnerEvents> = {
    started: (job) => this.notify(job.id),
    epoch: (jobId) => this.notify(jobId),
    progress: (jobId) => this.notify(jobId),
    finished: (jobId) => this.notify(jobId),
    storageWait: (jobId) => this.notify(jobId),
  }
}
