/**
 * A full disk while a job trains, under the real service (src/main.ts in a child process) on a
 * small tmpfs: the job waits (`running`, `storage_wait` says why and what to do), /readyz is
 * 503 with the reason and POST /jobs 507; once space is freed the job goes on by itself, on
 * the same attempt, and succeeds with every epoch once and the losses of an uninterrupted
 * run. Mounting needs root (CI runs as root); elsewhere the test is skipped and says why.
 */
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { lstmTextJob, referenceLosses } from '../helpers/job-specs.js'
import { JobsClient, waitFor, type JobView } from '../helpers/jobs-client.js'
import { assertLossHistory } from '../helpers/loss-checks.js'
import { sample } from '../helpers/metrics.js'
import { fillDisk, rootSkipReason, smallTmpfs } from '../helpers/mounts.js'
import { startMain } from '../helpers/process.js'
import { readiness, submitUntilRefused } from '../helpers/storage-faults.js'

const skip = rootSkipReason()

type WaitingJobView = JobView & { storage_wait: { since: string; code: string; reason: string; pending: string; what_to_do: string; fails_at: string } | null }

const LEASE_TTL_MS = 2000

t.test('a full disk pauses a training job; freeing space resumes it on the same attempt, losses as if never paused', { skip }, async (t) => {
  const dir = smallTmpfs(t, 16 * 1024 * 1024)
  const service = await startMain(t, {
    // A short lease: the pause outlasts it, and this node must still not take the job away from itself.
    env: { DATABASE_PATH: path.join(dir, 'seqserve.db'), WORKERS: '1', LEASE_TTL_MS: String(LEASE_TTL_MS), HEARTBEAT_MS: '500', RATE_LIMIT_JOBS_PER_MINUTE: '0' },
    startTimeoutMs: 60_000,
  })
  const client = new JobsClient(service.url)
  // Thousands of epochs of a few milliseconds: still training long after the disk fills.
  const request = lstmTextJob('paused-by-full-disk', { seed: 21, epochs: 6000, checkpointEvery: 100 })
  const { id } = await client.submit(request)
  await client.waitForJobs([id], 'the job past its first checkpoint', ([j]) => j.status === 'running' && (j.checkpoint?.epoch ?? 0) >= 100, 120_000)

  const filler = path.join(dir, 'filler')
  t.ok(fillDisk(filler) > 0, 'filled the disk')
  let view: WaitingJobView | undefined
  const paused = await waitFor('the job to wait for storage', async () => {
    view = (await client.job(id)) as WaitingJobView
    return view.storage_wait ? view : undefined
  }, 120_000, () => JSON.stringify(view))
  t.equal(paused.status, 'running')
  t.match(paused.storage_wait, {
    code: 'storage_full',
    reason: /^the disk holding the database is full \(SQLITE_FULL\)$/,
    pending: /^(loss|checkpoint) of epoch \d+$/,
    what_to_do: /Free space on that volume.*resumes by itself/,
  })
  const since = Date.parse(paused.storage_wait!.since)
  t.equal(Date.parse(paused.storage_wait!.fails_at) - since, 15 * 60_000, 'it would fail only after STORAGE_PAUSE_MAX_MS (15 minutes)')

  const ready = await readiness(service.url)
  t.equal(ready.status, 503, '/readyz is red while the disk is full')
  t.match(ready.body.reasons.join(' '), /disk holding the database is full/)
  const { refusal, statuses } = await submitUntilRefused(service.url)
  t.equal(refusal?.status, 507, `a submission is refused with 507 (statuses: ${statuses.join(',')})`)
  t.match(await refusal?.json(), { code: 'storage_full' })
  t.equal(sample(await (await fetch(`${service.url}/metrics`)).text(), 'seqserve_jobs_waiting_for_storage'), 1, 'the metric shows the waiting job')

  // Keep the disk full past the lease: the job's lease lapses in the database meanwhile.
  await waitFor('the pause to outlast the lease', async () => {
    const job = (await client.job(id)) as WaitingJobView
    t.equal(job.status, 'running', 'the job stays running while it waits')
    return Date.now() > since + 2 * LEASE_TTL_MS ? true : undefined
  }, 60_000, () => '', 500)
  const heldAt = ((await client.job(id)) as WaitingJobView).progress.epoch

  fs.rmSync(filler)
  const [done] = (await client.waitForFinished([id], 300_000)) as WaitingJobView[]
  t.match(done, { status: 'succeeded', error: null, attempt: 1, storage_wait: null }, 'it resumed by itself and succeeded on its first attempt')
  t.ok(heldAt < request.training.epochs, `it was still training when the disk filled (epoch ${heldAt} of ${request.training.epochs})`)
  assertLossHistory(t, 'paused job', await client.losses(id), referenceLosses(request))
  t.equal((await readiness(service.url)).status, 200, '/readyz is green again')
  const mine = service.lines.filter((line) => line.jobId === id)
  t.ok(mine.some((line) => line.msg?.startsWith('the database takes writes again')), 'the log says it went on')
  t.notOk(mine.some((line) => /lease (lapsed|taken back)/.test(line.msg ?? '')), 'its lease was never reaped')
})
