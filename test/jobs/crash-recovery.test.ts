/**
 * The training lifecycle across process deaths, against the real service (`src/main.ts` in a
 * child process), a real SQLite file and real worker threads: kill -9 and resume with
 * identical losses, leases that lapse three times, and a graceful SIGTERM mid-training.
 */
import path from 'node:path'
import t, { type Test } from 'tap'
import { JobsClient, type JobView } from '../helpers/jobs-client.js'
import { assertLossHistory } from '../helpers/loss-checks.js'
import { gruPairsJob, lstmTextJob, referenceLosses, type JobRequest } from '../helpers/job-specs.js'
import type { LogLine } from '../helpers/logs.js'
import { startMain, type ServiceProcess } from '../helpers/process.js'
import { leaseOwnerPid, plantJob, readJobStates, type JobState } from '../helpers/service-db.js'

/** Short leases so a dead process's jobs come back within a couple of seconds. */
function serviceEnv(databasePath: string, workers: number): Record<string, string> {
  return { DATABASE_PATH: databasePath, WORKERS: String(workers), LEASE_TTL_MS: '1500', HEARTBEAT_MS: '300', LOG_LEVEL: 'debug' }
}

async function kill9(t: Test, service: ServiceProcess): Promise<void> {
  service.child.kill('SIGKILL')
  t.equal(await service.exited, 'SIGKILL', 'the service died of SIGKILL')
}

const isMidTraining = (j: JobView) => j.status === 'running' && j.checkpoint !== null && j.progress.epoch > j.checkpoint.epoch

/** Jobs the killed process was training when it died (its pid is in their lease). */
function interruptedBy(pid: number, states: Map<string, JobState>): JobState[] {
  return [...states.values()].filter((s) => s.status === 'running' && leaseOwnerPid(s.leaseOwner) === pid)
}

t.test('kill -9 twice mid-training: every job resumes from its checkpoint and ends with the losses of an uninterrupted run', async (t) => {
  const dbPath = path.join(t.testdir({}), 'seqserve.db')
  const env = serviceEnv(dbPath, 2)
  // More jobs than workers, so some are still queued at each kill. crash-b is much shorter than
  // crash-a, so after the first restart it ends while crash-a still trains and a queued job starts.
  const requests: JobRequest[] = [
    lstmTextJob('crash-a', { seed: 1, epochs: 400, checkpointEvery: 7 }),
    lstmTextJob('crash-b', { seed: 2, epochs: 150, checkpointEvery: 9 }),
    lstmTextJob('crash-c', { seed: 3, epochs: 250, checkpointEvery: 8 }),
    gruPairsJob('crash-d', { seed: 4, epochs: 300, checkpointEvery: 11 }),
  ]
  const interruptions = new Map<string, number>()
  /** Interrupted runs that had not saved a newer checkpoint than the one they started from: only those cost an attempt. */
  const counted = new Map<string, number>()
  /** Per interrupted job: the checkpoint epoch it must resume from, and the first start (1 = second process) that may resume it. */
  const resumedFrom = new Map<string, { epoch: number; start: number }>()
  /** What a kill did to a job it interrupted: returns whether that run had made progress. */
  const interrupted = (s: JobState, start: number): boolean => {
    const from = resumedFrom.get(s.id)?.epoch ?? 0
    const reached = s.checkpoints.at(-1) ?? 0
    interruptions.set(s.id, (interruptions.get(s.id) ?? 0) + 1)
    if (reached <= from) counted.set(s.id, (counted.get(s.id) ?? 0) + 1)
    resumedFrom.set(s.id, { epoch: reached, start })
    return reached > from
  }

  const first = await startMain(t, { env })
  let client = new JobsClient(first.url)
  const ids: string[] = []
  for (const request of requests) ids.push((await client.submit(request)).id)

  // Kill 1: as soon as a job is past a checkpoint (losses after it exist, which resume must drop).
  await client.waitForJobs(ids, 'a job mid-training past a checkpoint', (jobs) => jobs.some(isMidTraining))
  await kill9(t, first)
  let states = readJobStates(dbPath)
  const killed1 = interruptedBy(first.child.pid!, states)
  t.equal(killed1.length, 2, 'two jobs (WORKERS=2) were training when the process died')
  t.ok([...states.values()].some((s) => s.status === 'queued'), 'some jobs were still queued')
  const progressed1 = new Map(killed1.map((s) => [s.id, interrupted(s, 1)]))

  // Kill 2: at a different moment, once a resumed job (attempt 2) has passed a newer checkpoint
  // while a job on its first attempt trains beside it.
  const second = await startMain(t, { env })
  client = new JobsClient(second.url)
  await client.waitForJobs(ids, 'a resumed job and a first attempt both mid-training past a checkpoint', (jobs) =>
    jobs.some((j) => resumedFrom.has(j.id) && isMidTraining(j) && j.checkpoint!.epoch > resumedFrom.get(j.id)!.epoch) &&
    jobs.some((j) => !resumedFrom.has(j.id) && j.attempt === 1 && isMidTraining(j)), 45_000)
  await kill9(t, second)
  states = readJobStates(dbPath)
  const killed2 = interruptedBy(second.child.pid!, states)
  t.ok(killed2.length >= 1, 'the second kill also interrupted training')
  t.ok(killed2.some((s) => interruptions.has(s.id)), 'a job was interrupted for the second time')
  t.ok(killed2.some((s) => !interruptions.has(s.id)), 'a job was interrupted on its first attempt')
  // (Not certain for any one job: a kill can land just as a checkpoint is written.)
  t.ok([...killed1, ...killed2].some((s) => s.checkpoints.length > 0 && s.lossEpochs.at(-1)! > s.checkpoints.at(-1)!),
    'a killed job had loss points beyond its last checkpoint, which the resume had to drop')
  for (const s of killed1) {
    // The restart holds the same node id (the hostname) and takes the jobs back at once, unless
    // the short lease lapsed first while it started and its reaper got there before.
    t.match(second.lines.find((l) => l.jobId === s.id && /^job lease (taken back from a previous run of this node|lapsed)/.test(l.msg ?? '')),
      { attempt: progressed1.get(s.id) ? 0 : 1, epoch: Number, progressed: progressed1.get(s.id) },
      'the next process took the job back, logging the attempts used and the epoch')
  }
  for (const s of killed2) interrupted(s, 2)

  const third = await startMain(t, { env })
  client = new JobsClient(third.url)
  const finished = await client.waitForFinished(ids, 60_000)

  for (const [i, job] of finished.entries()) {
    const label = requests[i].name
    t.equal(job.status, 'succeeded', `${label}: succeeded`)
    t.equal(job.error, null, `${label}: no error`)
    t.same(job.progress, { epoch: requests[i].training.epochs, epochs: requests[i].training.epochs }, `${label}: every epoch trained`)
    t.equal(job.checkpoint?.epoch, requests[i].training.epochs, `${label}: the final checkpoint is the last epoch`)
    t.equal(job.attempt, 1 + (counted.get(job.id) ?? 0),
      `${label}: attempt counts only the ${counted.get(job.id) ?? 0} of ${interruptions.get(job.id) ?? 0} interrupted runs that saved no newer checkpoint`)
    const reference = referenceLosses(requests[i])
    assertLossHistory(t, label, await client.losses(job.id), reference)
    t.equal(job.loss, reference.at(-1)!.loss, `${label}: final loss as uninterrupted`)
    t.equal(job.best_loss, Math.min(...reference.map((r) => r.valLoss ?? r.loss)), `${label}: best loss as uninterrupted`)
  }

  // The training logs of the process that finished each interrupted job name it, its attempt and the epoch.
  const starts = [first, second, third]
  for (const [id, { epoch, start }] of resumedFrom) {
    const job = finished.find((j) => j.id === id)!
    // The start of its final attempt ('job started' when it died before its first checkpoint).
    const isStart = (l: LogLine) => l.jobId === id && l.attempt === job.attempt && (l.msg === 'job resumed from checkpoint' || l.msg === 'job started')
    // A reaped job may wait in the queue past the next kill, so that start can be in a later process.
    const lines = starts.slice(start).find((s) => s.lines.some(isStart))?.lines ?? []
    t.match(lines.find(isStart), { epoch, msg: epoch > 0 ? 'job resumed from checkpoint' : 'job started' },
      `${job.name}: logged attempt ${job.attempt} starting from the epoch ${epoch} checkpoint`)
    const epochs = lines.filter((l) => l.jobId === id && l.msg === 'epoch finished')
    t.ok(epochs.length > 0 && epochs.every((l) => l.attempt === job.attempt), `${job.name}: epoch logs carry attempt ${job.attempt}`)
    t.equal(epochs[0]?.epoch, epoch + 1, `${job.name}: the first epoch logged after the resume follows the checkpoint`)
  }
})

t.test('a job whose lease lapsed on its third attempt fails as stalled; one on its second runs again; a cancelled one ends', async (t) => {
  const dbPath = path.join(t.testdir({}), 'seqserve.db')
  // A process that claimed these jobs died long ago: running, with leases that ran out.
  const lapsed = { status: 'running', lease_owner: 'gone-host:1:dead', lease_expires_at: Date.now() - 60_000, started_at: Date.now() - 120_000 }
  const third = await plantJob(dbPath, gruPairsJob('stalled-third', { seed: 5, epochs: 20, checkpointEvery: 5 }), { ...lapsed, attempt: 3 })
  const secondRequest = gruPairsJob('stalled-second', { seed: 6, epochs: 20, checkpointEvery: 5 })
  const second = await plantJob(dbPath, secondRequest, { ...lapsed, attempt: 2 })

  const cancelRequested = await plantJob(dbPath, gruPairsJob('stalled-cancelled', { seed: 7, epochs: 20, checkpointEvery: 5 }), { ...lapsed, attempt: 1, cancel_requested: 1 })

  const service = await startMain(t, { env: serviceEnv(dbPath, 1) })
  const client = new JobsClient(service.url)
  const [stalled, retried, cancelled] = await client.waitForFinished([third, second, cancelRequested])
  t.equal(cancelled.status, 'cancelled', 'a lapsed job whose cancel was requested ends cancelled, not requeued')

  t.equal(stalled.status, 'failed')
  t.equal(stalled.error?.code, 'stalled')
  t.match(stalled.error?.message, /3 times/)
  t.equal(stalled.attempt, 3, 'no fourth attempt')
  t.same(await client.losses(third), [], 'a stalled job is not trained again')
  t.match(service.lines.find((l) => l.jobId === third && l.level === 50), { msg: /failed as stalled/, attempt: 3, epoch: 0 }, 'logged as stalled')

  t.equal(retried.status, 'succeeded', 'the job on its second attempt gets a third')
  t.equal(retried.attempt, 3)
  // Planted straight into the database, so its spec has no model.dtype: it trains in float64.
  assertLossHistory(t, 'retried job', await client.losses(second), referenceLosses(secondRequest, 'float64'))
})

t.test('SIGTERM mid-training: the job is checkpointed at its last epoch, requeued without using an attempt, and resumes exactly', async (t) => {
  const dbPath = path.join(t.testdir({}), 'seqserve.db')
  const env = serviceEnv(dbPath, 1)
  // A checkpoint interval the stop never lands on by chance, so the shutdown checkpoint is its own.
  const request = lstmTextJob('graceful', { seed: 7, epochs: 200, checkpointEvery: 1000 })
  const waiting = gruPairsJob('graceful-queued', { seed: 8, epochs: 30, checkpointEvery: 10 })

  const first = await startMain(t, { env })
  let client = new JobsClient(first.url)
  const id = (await client.submit(request)).id
  const queuedId = (await client.submit(waiting)).id
  const [before] = await client.waitForJobs([id], 'the job a few epochs in', ([j]) => j.status === 'running' && j.progress.epoch >= 5)

  first.child.kill('SIGTERM')
  t.equal(await first.exited, 0, 'the service exits 0')
  t.ok(first.lines.some((l) => l.msg === 'shut down cleanly'), 'logged a clean shutdown')
  const states = readJobStates(dbPath)
  const stopped = states.get(id)!
  t.equal(stopped.status, 'queued', 'the job is back in the queue')
  t.equal(stopped.leaseOwner, null, 'its lease is released')
  t.ok(stopped.attempt <= before.attempt, `the attempt was not used up (${before.attempt} before, ${stopped.attempt} after)`)
  const lastEpoch = stopped.lossEpochs.at(-1)!
  t.ok(lastEpoch >= before.progress.epoch && lastEpoch < request.training.epochs, `stopped mid-training at epoch ${lastEpoch}`)
  t.same(stopped.checkpoints, [lastEpoch], 'checkpointed exactly its last finished epoch')
  t.equal(stopped.progressEpoch, lastEpoch)
  t.match(states.get(queuedId), { status: 'queued', attempt: 0 }, 'the waiting job is untouched')

  const second = await startMain(t, { env })
  client = new JobsClient(second.url)
  const [job, queued] = await client.waitForFinished([id, queuedId])
  t.equal(job.status, 'succeeded')
  t.equal(job.attempt, before.attempt, 'a graceful stop costs no attempt')
  t.match(second.lines.find((l) => l.jobId === id && l.msg === 'job resumed from checkpoint'), { epoch: lastEpoch })
  assertLossHistory(t, 'resumed job', await client.losses(id), referenceLosses(request))
  t.equal(queued.status, 'succeeded', 'the job queued behind it ran after the restart')
  t.equal(queued.attempt, 1)
})
