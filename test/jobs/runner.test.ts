/**
 * The job runner inside the real service (child process, SQLite file, worker threads):
 * stopping conditions, cancellation, WORKERS as the concurrency, oldest-first queue order,
 * and the fields of the training logs.
 */
import path from 'node:path'
import t from 'tap'
import { JobsClient, waitFor, type JobView } from '../helpers/jobs-client.js'
import { assertLossHistory } from '../helpers/loss-checks.js'
import { divergingSeriesJob, gruPairsJob, lstmTextJob, referenceLosses, type JobRequest } from '../helpers/job-specs.js'
import type { LogLine } from '../helpers/logs.js'
import { startMain } from '../helpers/process.js'
import { plantJob } from '../helpers/service-db.js'

function serviceEnv(databasePath: string, workers: number): Record<string, string> {
  return { DATABASE_PATH: databasePath, WORKERS: String(workers), LEASE_TTL_MS: '1500', HEARTBEAT_MS: '300', LOG_LEVEL: 'debug' }
}

/** Log lines the runner wrote about one job (request logs carry a reqId instead). */
const trainingLines = (lines: readonly LogLine[], jobId: string) => lines.filter((l) => l.jobId === jobId && l.reqId === undefined)

t.test('stopping conditions, cancel and WORKERS=2 concurrency on one service', async (t) => {
  const service = await startMain(t, { env: serviceEnv(path.join(t.testdir({}), 'seqserve.db'), 2) })
  const client = new JobsClient(service.url)

  // Two long jobs: one limited to a second of training, one we cancel. The limited one has no
  // periodic checkpoint within reach, so any checkpoint it keeps is the one written at the limit.
  const limitedRequest = lstmTextJob('limited', { seed: 11, epochs: 100_000, checkpointEvery: 10_000 })
  limitedRequest.training.max_runtime_seconds = 1
  const limited = await client.submit(limitedRequest)
  const doomed = await client.submit(lstmTextJob('doomed', { seed: 12, epochs: 100_000, checkpointEvery: 5 }))

  let mostRunning = 0
  await client.waitForJobs([limited.id, doomed.id], 'both jobs running at once', (jobs) => {
    const running = jobs.filter((j) => j.status === 'running').length
    mostRunning = Math.max(mostRunning, running)
    return running === 2
  })
  t.equal(mostRunning, 2, 'WORKERS=2 trains two jobs at the same time')

  await client.waitForJobs([doomed.id], 'the job to be past a checkpoint', ([j]) => j.checkpoint !== null && j.progress.epoch > j.checkpoint.epoch)
  const cancel = await fetch(`${service.url}/jobs/${doomed.id}/cancel`, { method: 'POST' })
  t.equal(cancel.status, 202, 'cancel accepted')

  const [limitedDone, cancelled] = await client.waitForFinished([limited.id, doomed.id], 30_000)

  t.equal(cancelled.status, 'cancelled', 'the cancelled job stops')
  t.ok(cancelled.checkpoint !== null, 'and keeps its last checkpoint')
  t.ok(cancelled.progress.epoch < cancelled.progress.epochs, 'it stopped early')

  t.equal(limitedDone.status, 'failed', 'a job over max_runtime_seconds fails')
  t.equal(limitedDone.error?.code, 'max_runtime_exceeded')
  const trained = limitedDone.progress.epoch
  t.ok(trained > 0 && trained < limitedRequest.training.epochs, `it trained ${trained} epochs before the limit`)
  t.equal(limitedDone.checkpoint?.epoch, trained, 'its checkpoint of the last finished epoch is kept')
  const weights = await fetch(`${service.url}/jobs/${limited.id}/weights`)
  t.equal(weights.status, 200, 'the kept checkpoint still exports weights')
  const prefix = { ...limitedRequest, training: { ...limitedRequest.training, epochs: trained } }
  assertLossHistory(t, 'limited job', await client.losses(limited.id), referenceLosses(prefix))

  // A diverging job: NaN/Inf loss ends it, and it is never served.
  const diverging = await client.submit(divergingSeriesJob('diverging'))
  const [nan] = await client.waitForFinished([diverging.id])
  t.equal(nan.status, 'failed')
  t.equal(nan.error?.code, 'nan_loss')
  t.match(nan.error?.message, /learning_rate/, 'the message says what to change')
  t.ok((await client.losses(diverging.id)).every((p) => Number.isFinite(p.loss)), 'no non-finite loss is stored')
  const predict = await fetch(`${service.url}/predict?job=${diverging.id}&input=${encodeURIComponent('1,2,3,4,5,6,7,8,9,10')}`)
  t.equal(predict.status, 409, 'predict refuses a diverged job')
  t.match(await predict.json(), { statusCode: 409, code: 'job_not_succeeded' })

  // Training logs carry the job id, its attempt and the epoch.
  for (const job of [limited, doomed, diverging]) {
    const lines = trainingLines(service.lines, job.id)
    t.ok(lines.length > 0, `${job.name}: the runner logged its training`)
    const missing = lines.filter((l) => typeof l.attempt !== 'number' || typeof l.epoch !== 'number')
    t.same(missing.map((l) => l.msg), [], `${job.name}: every training log line has attempt and epoch`)
    t.ok(lines.every((l) => l.attempt === 1), `${job.name}: attempt 1`)
  }
  const epochLines = trainingLines(service.lines, limited.id).filter((l) => l.msg === 'epoch finished')
  t.same(epochLines.map((l) => l.epoch), Array.from({ length: trained }, (_, i) => i + 1), 'one debug line per epoch, in order')
  t.match(trainingLines(service.lines, diverging.id).find((l) => l.level === 40), { epoch: 0, code: 'nan_loss' }, 'the failure is logged with its epoch')
})

t.test('WORKERS=1: queued jobs run one at a time, oldest first', async (t) => {
  const dbPath = path.join(t.testdir({}), 'seqserve.db')
  // Queued before the service starts, so nothing but the queue order decides who runs first.
  // Names run backwards and ids are random, so neither explains the order seen.
  const requests: JobRequest[] = ['q4', 'q3', 'q2', 'q1'].map((name, i) => gruPairsJob(name, { seed: 20 + i, epochs: 80, checkpointEvery: 20 }))
  const ids: string[] = []
  for (const r of requests) ids.push(await plantJob(dbPath, r))

  const service = await startMain(t, { env: serviceEnv(dbPath, 1) })
  const client = new JobsClient(service.url)
  // Polling each job separately could see job k still running and job k+1 already started;
  // the running count comes from one query instead.
  let mostRunning = 0
  const jobs: JobView[] = await waitFor('every job finished', async () => {
    mostRunning = Math.max(mostRunning, await client.runningCount())
    const jobs = await client.jobs(ids)
    return jobs.every((j) => j.status === 'succeeded' || j.status === 'failed') ? jobs : undefined
  })
  t.ok(jobs.every((j) => j.status === 'succeeded'), 'all succeeded')
  t.equal(mostRunning, 1, 'never two running at once')

  // The log is the exact order of events in the runner. A job's status is committed just
  // before its "job succeeded" line is written, so wait for the last line to arrive.
  const lifecycle = () => service.lines.flatMap((l) => {
    const index = typeof l.jobId === 'string' ? ids.indexOf(l.jobId) : -1
    return index >= 0 && (l.msg === 'job started' || l.msg === 'job succeeded') ? [`${l.msg === 'job started' ? 'start' : 'end'} ${index}`] : []
  })
  const events = await waitFor('every lifecycle log line', () => (lifecycle().length >= 8 ? lifecycle() : undefined), 10_000, () => JSON.stringify(lifecycle()))
  t.same(events, ['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3'], 'oldest first, each after the previous one ended')
  const started = jobs.map((j) => Date.parse(j.started_at!))
  t.same([...started].sort((a, b) => a - b), started, 'started_at follows submission order')
})
