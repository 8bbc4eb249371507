import type { ReapedJob, ReapResult } from './types.js'

/**
 * SQL (both dialects) for the `error_message` of a job failed as `stalled`: it lost its worker
 * on every allowed attempt without saving a newer checkpoint in between.
 */
export const LOST_WITHOUT_PROGRESS_MESSAGE =
  `'The job''s worker was lost ' || attempt || ' times without saving a newer checkpoint (its process died or its lease lapsed each time); giving up.'`

type RawReaped = Omit<ReapedJob, 'progressed'> & { progressed: number | boolean }

/** The rows each reap step returned, as one ReapResult (the requeued ones with progress first). */
export function reapResult(steps: { cancelled: RawReaped[]; progressed: RawReaped[]; failed: RawReaped[]; requeued: RawReaped[] }): ReapResult {
  const jobs = (rows: RawReaped[]): ReapedJob[] =>
    rows.map((r) => ({ id: r.id, attempt: Number(r.attempt), epoch: Number(r.epoch), progressed: r.progressed === true || r.progressed === 1 }))
  return { requeued: jobs([...steps.progressed, ...steps.requeued]), failed: jobs(steps.failed), cancelled: jobs(steps.cancelled) }
}
