/**
 * PostgreSQL going away under the running service (src/main.ts in a child process, on a real
 * PostgreSQL 15 cluster of its own): the server is stopped mid-training as an operator's
 * `pg_ctl stop -m fast` does. The process keeps running, /healthz answers, /readyz is 503
 * naming the unreachable database, writes answer 503 storage_unavailable with Retry-After,
 * and the training job waits for its database (`seqserve_jobs_waiting_for_storage` 1) instead
 * of failing, past its lease. Started again on the same data and port, the database takes the
 * job's writes: it goes on WITHOUT a restart of seqserve, on its first attempt, and succeeds
 * with every epoch stored once and the losses of an uninterrupted run.
 */
import pg from 'pg'
import t from 'tap'
import { lstmTextJob, referenceLosses } from '../helpers/job-specs.js'
import { JobsClient, waitFor, type JobView } from '../helpers/jobs-client.js'
import { assertLossHistory } from '../helpers/loss-checks.js'
import { sample } from '../helpers/metrics.js'
import { startPostgres } from '../helpers/postgres.js'
import { keptLog, startMain } from '../helpers/process.js'
import { readiness } from '../helpers/storage-faults.js'

type WaitingJobView = JobView & { storage_wait: { code: string; reason: string; pending: string; what_to_do: string } | null }

const LEASE_TTL_MS = 2000

t.test('PostgreSQL stopped mid-training: the job waits for it, then goes on without a restart and succeeds, losses as if never paused', async (t) => {
  // A cluster of its own: this test stops it.
  const cluster = await startPostgres()
  t.teardown(() => cluster.stop())
  const url = await cluster.createDatabase('pgloss')
  const service = await startMain(t, {
    // A short lease: the outage outlasts it, and this node must still not take the job away from itself.
    env: { DATABASE_URL: url, WORKERS: '1', NODE_ID: 'pgloss-node', LEASE_TTL_MS: String(LEASE_TTL_MS), HEARTBEAT_MS: '500', RATE_LIMIT_JOBS_PER_MINUTE: '0' },
    startTimeoutMs: 60_000,
    logFile: keptLog(t, 'pgloss'),
  })
  const client = new JobsClient(service.url)
  const metric = async (name: string, labels = '') => sample(await (await fetch(`${service.url}/metrics`)).text(), name, labels)
  // Thousands of epochs of a few milliseconds: still training long after the database goes.
  const request = lstmTextJob('paused-by-lost-postgres', { seed: 23, epochs: 5000, checkpointEvery: 100 })
  const { id } = await client.submit(request)
  const [before] = await client.waitForJobs([id], 'the job past its first checkpoint', ([j]) => j.status === 'running' && (j.checkpoint?.epoch ?? 0) >= 100, 120_000)

  await cluster.halt('fast')
  await waitFor('the job to wait for its database', async () => ((await metric('seqserve_jobs_waiting_for_storage')) === 1 ? true : undefined), 120_000)
  t.equal(service.child.exitCode, null, 'the process keeps running')
  t.equal((await fetch(`${service.url}/healthz`)).status, 200, '/healthz answers')
  const ready = await readiness(service.url)
  t.equal(ready.status, 503, '/readyz is red while PostgreSQL is down')
  t.equal(ready.body.checks.database, false)
  t.match(ready.body.reasons.join(' '), /the database server cannot be reached.*Check that PostgreSQL is running and that DATABASE_URL names it/, 'the reason names the database and what to check')

  const refused = await fetch(`${service.url}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(lstmTextJob('refused', { seed: 1, epochs: 1, checkpointEvery: 1 })) })
  t.equal(refused.status, 503, 'a submission answers 503, not 500')
  t.ok(Number(refused.headers.get('retry-after')) > 0, `with Retry-After (${refused.headers.get('retry-after')})`)
  t.match(await refused.json(), { code: 'storage_unavailable', message: /database server cannot be reached.*Nothing was written; retry later/ })
  const read = await fetch(`${service.url}/jobs/${id}`)
  t.equal(read.status, 503, 'a read of the job answers 503 too: its row lives in the database')
  t.match(await read.json(), { code: 'storage_unavailable' })

  // Stay down past the lease: the job's lease lapses in the database meanwhile.
  const downSince = Date.now()
  await waitFor('the outage to outlast the lease', async () => {
    t.equal(await metric('seqserve_jobs_waiting_for_storage'), 1, 'the job keeps waiting')
    return Date.now() > downSince + 2 * LEASE_TTL_MS ? true : undefined
  }, 60_000, () => '', 500)

  await cluster.resume()
  const backAt = Date.now()
  const pid = service.child.pid
  // The pool reconnects by itself: reads work again once the server accepts connections.
  const [done] = (await waitFor('the job to finish', async () => {
    const view = await client.job(id).catch(() => undefined)
    return view && ['succeeded', 'failed', 'cancelled'].includes(view.status) ? [view] : undefined
  }, 300_000, () => '', 200)) as WaitingJobView[]
  t.equal(service.child.exitCode, null, 'without a restart of seqserve')
  t.equal(service.child.pid, pid)
  t.match(done, { status: 'succeeded', error: null, attempt: 1, storage_wait: null }, 'it went on by itself and succeeded on its first attempt')
  t.ok(before.progress.epoch < request.training.epochs, `it was still training when PostgreSQL stopped (epoch ${before.progress.epoch} of ${request.training.epochs})`)
  assertLossHistory(t, 'job paused by a lost PostgreSQL', await client.losses(id), referenceLosses(request))
  t.equal((await readiness(service.url)).status, 200, '/readyz is green again')
  t.equal(await metric('seqserve_jobs_waiting_for_storage'), 0, 'nothing waits any more')
  t.equal(await metric('seqserve_storage_waits_total', 'outcome="resumed"'), 1, 'the wait ended with the write going through')

  const mine = service.lines.filter((line) => line.jobId === id)
  t.ok(mine.some((line) => /^waiting for the database to take the .*the database server cannot be reached/.test(line.msg ?? '')), 'the log says why it waits')
  const went = mine.find((line) => line.msg?.startsWith('the database takes writes again')) as { time: number; waitedMs: number; tries: number } | undefined
  t.ok(went, 'the log says it went on')
  if (went) t.comment(`waited ${went.waitedMs} ms (${went.tries} tries); the write went through ${went.time - backAt} ms after PostgreSQL accepted connections again`)
  t.notOk(mine.some((line) => /lease (lapsed|taken back)/.test(line.msg ?? '')), 'its lease was never reaped')

  const db = new pg.Client(url)
  await db.connect()
  t.teardown(() => db.end())
  const { rows } = await db.query<{ epoch: number; n: number }>('SELECT epoch, COUNT(*)::int AS n FROM losses WHERE job_id = $1 GROUP BY epoch HAVING COUNT(*) > 1', [id])
  t.same(rows, [], 'no epoch stored twice in the table')
})
