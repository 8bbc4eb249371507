/**
 * The events of every job (optionally of one name) as one stream: the same `status`,
 * `epoch` and `progress` events as GET /jobs/{id}/events, each naming its `job` and `name`.
 *
 * Resuming: an event's id is the whole position of the stream, `<seq>~<job>:<epoch>.<status>,...`:
 * the highest job seq the stream has taken in (jobs queued later are new to it and followed
 * from their start) and the cursor of each unfinished job it follows (a job leaves the list
 * with its final status). Sent back as Last-Event-ID it continues every job without gaps or
 * repeats. A fresh stream starts at the present: queued and running jobs from their current
 * status and next epoch, jobs queued afterwards from their start.
 */
import type { Storage } from '../storage/storage.js'
import type { JobSummary, ListJobsQuery } from '../storage/types.js'
import { formatCursor, JobFollower, parseEventId, type JobEvent, type JobEventOptions } from './job-events.js'
import { ANY_JOB } from './wakeups.js'

const PAGE = 200
/** Unfinished jobs a stream follows at once: their cursors make up its event ids, which must fit in a request header (16 KiB). */
export const MAX_FOLLOWED = 200

interface Followed {
  follower: JobFollower
  name: string
  seq: number
}

/** `<seq>~<job>:<epoch>.<status>,...` -> the stream's position; null when unreadable. */
export function parseStreamId(id: string | undefined): { seq: number; jobs: Map<string, string> } | null {
  const match = /^(\d{1,15})~(.*)$/.exec(id ?? '')
  if (!match) return null
  const jobs = new Map<string, string>()
  for (const part of match[2].split(',').filter(Boolean)) {
    const at = part.lastIndexOf(':')
    if (at <= 0) return null
    jobs.set(part.slice(0, at), part.slice(at + 1))
  }
  return { seq: Number(match[1]), jobs }
}

async function* pages(storage: Storage, query: Omit<ListJobsQuery, 'limit' | 'cursor'>): AsyncGenerator<JobSummary> {
  let cursor: string | undefined
  do {
    const page = await storage.jobs.list({ ...query, limit: PAGE, cursor })
    yield* page.items
    cursor = page.nextCursor ?? undefined
  } while (cursor !== undefined)
}

/** `catchUp`: end once everything pending is sent, instead of following (polling with Last-Event-ID). */
export async function* allJobEvents(name: string | undefined, lastEventId: string | undefined, options: JobEventOptions & { catchUp?: boolean }): AsyncGenerator<JobEvent> {
  const { storage, wakeups, pollMs, signal } = options
  const followed = new Map<string, Followed>()
  // Each followed job's cursor as of the last event sent: what an event id hands back.
  const sent = new Map<string, string>()
  const follow = (job: Pick<JobSummary, 'id' | 'name' | 'seq'>, cursor: string | undefined, fromEpoch?: number) => {
    if (followed.size >= MAX_FOLLOWED) return
    const start = parseEventId(cursor)
    if (fromEpoch !== undefined) start.epoch = fromEpoch
    followed.set(job.id, { follower: new JobFollower(job.id, start, storage), name: job.name, seq: job.seq })
    sent.set(job.id, formatCursor(start))
  }
  const resumed = parseStreamId(lastEventId)
  let seq = 0
  if (resumed) {
    seq = resumed.seq
    for (const [id, cursor] of resumed.jobs) {
      const job = await storage.jobs.findById(id)
      if (job) follow(job, cursor)
    }
  } else {
    // The present: the newest seq, and the unfinished jobs from where they stand.
    seq = (await storage.jobs.list({ name, limit: 1 })).items[0]?.seq ?? 0
    for (const status of ['running', 'queued'] as const) {
      for await (const job of pages(storage, { name, status })) if (job.seq <= seq) follow(job, undefined, job.progressEpoch)
    }
  }
  const position = () => `${seq}~${[...sent].map(([id, cursor]) => `${id}:${cursor}`).join(',')}`

  while (!signal.aborted) {
    // Jobs queued since: followed from their start, oldest first.
    const fresh: JobSummary[] = []
    // Usually nothing is new: the newest job alone says so.
    const newest = (await storage.jobs.list({ name, limit: 1 })).items[0]
    if (newest !== undefined && newest.seq > seq) {
      for await (const job of pages(storage, { name })) {
        if (job.seq <= seq) break
        fresh.push(job)
      }
    }
    for (const job of fresh.reverse()) {
      seq = Math.max(seq, job.seq)
      follow(job, undefined)
    }
    for (const entry of [...followed.values()].sort((a, b) => a.seq - b.seq)) {
      const { jobId } = entry.follower
      for (const e of await entry.follower.read()) {
        // A job event's id is that job's cursor right after it.
        if (e.id !== null) sent.set(jobId, e.id)
        yield { id: e.id === null ? null : position(), event: e.event, data: { job: jobId, name: entry.name, ...e.data } }
      }
      if (entry.follower.ended) {
        followed.delete(jobId)
        sent.delete(jobId)
      }
    }
    if ([...followed.values()].some((f) => f.follower.behind)) continue
    if (options.catchUp) return
    await wakeups.wait(ANY_JOB, pollMs, signal)
  }
}
