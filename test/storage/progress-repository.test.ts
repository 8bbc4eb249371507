/** job_progress on SQLite and PostgreSQL: written only under the job's lease, replaced in place, gone with the job. */
import { newJob, storageTest } from './helpers.js'

const LEASE = 60_000

storageTest('progress is written by the lease holder only, replaced as training moves, and deleted with its job', async (t, storage) => {
  const job = await storage.jobs.create(newJob(), 1_000)
  const first = { epoch: 1, batch: 3, batches: 10, tokensPerSecond: 1234.5, at: 2_000 }
  t.equal(await storage.progress.record(job.id, 'worker-a', first), false, 'a queued job has no lease to write under')
  t.equal(await storage.progress.get(job.id), undefined)

  await storage.jobs.claimNext('worker-a', LEASE, 1_500)
  t.equal(await storage.progress.record(job.id, 'worker-b', first), false, 'another worker cannot write it')
  t.equal(await storage.progress.record(job.id, 'worker-a', first), true)
  t.same(await storage.progress.get(job.id), first)
  const later = { epoch: 2, batch: 1, batches: 10, tokensPerSecond: null, at: 3_000 }
  t.equal(await storage.progress.record(job.id, 'worker-a', later), true)
  t.same(await storage.progress.get(job.id), later, 'one row per job, replaced')

  await storage.jobs.finish(job.id, 'worker-a', { status: 'succeeded' }, 4_000)
  t.equal(await storage.progress.record(job.id, 'worker-a', first), false, 'nothing after the job ended')
  t.same(await storage.progress.get(job.id), later)
  t.equal(await storage.jobs.delete(job.id), 'deleted')
  t.equal(await storage.progress.get(job.id), undefined, 'deleted with the job')
})
