/**
 * A full disk under the real service (src/main.ts in a child process) on a small tmpfs:
 * submissions answer 507 storage_full with Retry-After (never a bare 500), /readyz goes red
 * saying why, reads keep working, and everything works again once space returns, without a
 * restart.
 */
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { JobsClient, waitFor } from '../helpers/jobs-client.js'
import { gruPairsJob } from '../helpers/job-specs.js'
import { fillDisk, rootSkipReason, smallTmpfs } from '../helpers/mounts.js'
import { startMain } from '../helpers/process.js'

const skip = rootSkipReason()

interface Readiness { status: string; checks: { database: boolean }; reasons: string[] }

async function readiness(url: string): Promise<{ status: number; body: Readiness }> {
  const response = await fetch(`${url}/readyz`)
  return { status: response.status, body: (await response.json()) as Readiness }
}

/** A job whose stored spec is ~`bytes` large (many distinct pairs), so each submission needs fresh pages. */
function bulkyJob(name: string, bytes: number) {
  const job = gruPairsJob(name, { seed: 1, epochs: 1, checkpointEvery: 1 })
  const pairs = Array.from({ length: Math.ceil(bytes / 40) }, (_, i) => {
    const word = `w${i.toString(36).padStart(6, 'a')}`.slice(0, 7)
    return { input: word, target: word.split('').reverse().join('') }
  })
  return { ...job, data: { type: 'pairs' as const, pairs } }
}

t.test('disk full: POST /jobs answers 507 storage_full, /readyz 503 with the reason; both recover when space returns', { skip }, async (t) => {
  const dir = smallTmpfs(t, 12 * 1024 * 1024)
  const service = await startMain(t, {
    // No training: the queued jobs stay put, so only the submissions write.
    env: { DATABASE_PATH: path.join(dir, 'seqserve.db'), ROLE: 'api', RATE_LIMIT_JOBS_PER_MINUTE: '0', MAX_QUEUED_JOBS: '100000' },
  })
  const client = new JobsClient(service.url)
  const before = await client.submit(bulkyJob('before', 20_000))
  t.equal((await readiness(service.url)).status, 200, 'ready while there is space')

  const filler = path.join(dir, 'filler')
  t.ok(fillDisk(filler) > 0, 'the file system is full')

  const red = await waitFor('/readyz to go red', async () => {
    const probe = await readiness(service.url)
    return probe.status === 503 ? probe.body : undefined
  }, 30_000)
  t.equal(red.checks.database, false)
  t.match(red.reasons.join(' '), /disk holding the database is full/, 'the reason names the full disk')

  // The WAL may still have room for a few pages: keep submitting until the database refuses.
  const statuses: number[] = []
  let refusal: Response | undefined
  for (let i = 0; i < 200 && refusal === undefined; i++) {
    const response = await fetch(`${service.url}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(bulkyJob(`full-${i}`, 20_000)) })
    statuses.push(response.status)
    if (response.status === 202) await response.body?.cancel()
    else refusal = response
  }
  t.ok(refusal, `a submission was refused (statuses: ${statuses.join(',')})`)
  t.equal(refusal!.status, 507, 'HTTP 507 Insufficient Storage')
  t.equal(refusal!.headers.get('retry-after'), '60', 'Retry-After says when to try again')
  const body = (await refusal!.json()) as { code: string; message: string }
  t.equal(body.code, 'storage_full')
  t.match(body.message, /disk holding the database is full .*Nothing was written; retry later/)
  t.notOk(body.message.includes(dir), 'the client is not told server paths')
  t.notOk(statuses.includes(500), 'never a bare 500')

  const read = await client.job(before.id)
  t.equal(read.status, 'queued', 'reads still work on a full disk')

  fs.rmSync(filler)
  await waitFor('/readyz to go green again', async () => ((await readiness(service.url)).status === 200 ? true : undefined), 30_000)
  const after = await client.submit(bulkyJob('after', 20_000))
  t.equal(after.status, 'queued', 'submissions are accepted again without a restart')
  const logged = service.lines.filter((line) => line.msg === 'storage fault')
  t.ok(logged.length > 0, 'the operator log has the storage fault')
  t.match(JSON.stringify(logged[0]), /SQLITE_FULL/, '... with the native error')
})

/**
 * The storage layer raises StorageFullError; keeping the job and retrying its saves is the job
 * runner's part (issue 8 points 1-2). Until that lands, this job ends up stuck `running`.
 */
const RUNNER_PENDING = 'the job runner does not yet retry saves that fail with StorageFullError (issue 8 points 1-2)'

t.test('disk full while a job trains: the job pauses (still running, never cancelled) and finishes once space returns', { skip: skip ?? RUNNER_PENDING }, async (t) => {
  const dir = smallTmpfs(t, 12 * 1024 * 1024)
  const service = await startMain(t, {
    env: { DATABASE_PATH: path.join(dir, 'seqserve.db'), WORKERS: '1', RATE_LIMIT_JOBS_PER_MINUTE: '0' },
  })
  const client = new JobsClient(service.url)
  const job = await client.submit(gruPairsJob('paused', { seed: 3, epochs: 1500, checkpointEvery: 50 }))
  await client.waitForJobs([job.id], 'the job to be training', ([j]) => j.status === 'running' && j.progress.epoch >= 5)

  const filler = path.join(dir, 'filler')
  fillDisk(filler)
  await waitFor('/readyz to go red', async () => ((await readiness(service.url)).status === 503 ? true : undefined), 30_000)
  // Its saves fail now: wait until its stored progress stops moving.
  let last = -1
  const stalled = await waitFor('the stored progress to stop while the disk is full', async () => {
    const current = await client.job(job.id)
    if (current.status !== 'running') return current
    const moved = current.progress.epoch !== last
    last = current.progress.epoch
    if (!moved) return current
    await new Promise((resolve) => setTimeout(resolve, 500))
    return undefined
  }, 60_000)
  t.equal(stalled.status, 'running', 'the job is paused, not cancelled or failed')
  t.equal(stalled.error, null)

  fs.rmSync(filler)
  const [done] = await client.waitForJobs([job.id], 'the job to finish', ([j]) => !['queued', 'running'].includes(j.status), 120_000)
  t.equal(done.status, 'succeeded', 'the job resumed by itself and finished')
  const losses = await client.losses(job.id)
  t.same(losses.map((point) => point.epoch), Array.from({ length: 1500 }, (_, i) => i + 1), 'every epoch stored once')
})
