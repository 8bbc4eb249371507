/**
 * JobRunner.stop() in-process (real SQLite file, real worker threads), where the test can act
 * at the exact moment a worker starts a long training step: the step is cut short (the worker
 * polls the stop flag every time step), the job goes back to the queue from its last finished
 * epoch, and the next start resumes it with the losses of an uninterrupted run.
 */
import path from 'node:path'
import t from 'tap'
import { JobRunner } from '../../src/jobs/runner.js'
import { summarizeData } from '../../src/engine/tasks/task.js'
import { openStorage } from '../../src/storage/open.js'
import { DEFAULT_DTYPE } from '../../src/engine/backend/select.js'
import { lstmTextJob, referenceLosses } from '../helpers/job-specs.js'
import { captureLogs } from '../helpers/logs.js'

t.test('a graceful stop cuts the step short, keeps renewing the lease until the job has checkpointed and gone back to the queue, and the job resumes exactly', async (t) => {
  const storage = await openStorage({ path: path.join(t.testdir({}), 'seqserve.db') })
  t.teardown(() => storage.close())
  // One slow step per epoch (a wide LSTM over one long batch), several lease lifetimes: a stop
  // requested as an epoch ends finds the worker inside the next epoch's only step.
  const request = lstmTextJob('slow-steps', { seed: 41, epochs: 3, checkpointEvery: 100 })
  request.model = { ...request.model, hidden_size: 320, num_layers: 1, dropout: 0, dtype: DEFAULT_DTYPE }
  request.data = { type: 'text', text: 'abcdefghij'.repeat(205), seq_len: 256 }
  request.training = { ...request.training, batch_size: 8, validation_split: 0 }
  const spec = { model: request.model, data: request.data, training: request.training }
  const { id } = await storage.jobs.create({ name: request.name, spec, dataSummary: summarizeData(request.data), epochs: 3 }, Date.now())

  // Generous against a busy machine delaying the heartbeat, yet well under one step (~1 s here).
  const leaseTtlMs = 400
  let stopped: Promise<void> | undefined
  let lapsedWhileRunning = 0
  const runner: JobRunner = new JobRunner({
    storage, workers: 1, leaseTtlMs, heartbeatMs: 25, pollMs: 50, logger: captureLogs('silent').logger,
    // Epoch 1 just ended: a moment later the worker is inside epoch 2's only step.
    events: { epoch: (_jobId, epoch) => { if (epoch === 1) setTimeout(() => { stopped ??= runner.stop() }, 50) } },
  })
  t.teardown(() => runner.stop())
  const watch = setInterval(async () => {
    const job = (await storage.jobs.findById(id))!
    if (job.status === 'running' && job.leaseExpiresAt! <= Date.now()) lapsedWhileRunning++
  }, 10)
  t.teardown(() => clearInterval(watch))

  runner.start()
  await new Promise<void>((resolve, reject) => {
    const deadline = Date.now() + 30_000
    const check = setInterval(() => {
      if (stopped) resolve(stopped)
      else if (Date.now() > deadline) reject(new Error('the first epoch never finished'))
      if (stopped || Date.now() > deadline) clearInterval(check)
    }, 10)
  })
  clearInterval(watch)

  t.equal(lapsedWhileRunning, 0, 'the lease never lapsed while the stopping job still ran (another process could have taken it over)')
  const job = (await storage.jobs.findById(id))!
  t.equal(job.status, 'queued', 'the job is back in the queue')
  t.equal(job.attempt, 0, 'without using up an attempt')
  // The step under way when the stop came (epoch 2's only one) stopped part way: not recorded.
  t.same((await storage.losses.list(id)).map((p) => p.epoch), [1], 'the step in progress was cut short, nothing after epoch 1 recorded')
  t.equal((await storage.checkpoints.latestMeta(id))?.epoch, 1, 'checkpointed at its last finished epoch')

  // The next start resumes it from epoch 1 and trains epochs 2 and 3 as if nothing had happened.
  const outcome = new Promise<string>((resolve) => {
    const next: JobRunner = new JobRunner({
      storage, workers: 1, leaseTtlMs: 5000, heartbeatMs: 100, pollMs: 50, logger: captureLogs('silent').logger,
      events: { finished: (jobId, status) => { if (jobId === id) resolve(status) } },
    })
    t.teardown(() => next.stop())
    next.start()
  })
  t.equal(await outcome, 'succeeded')
  const reference = referenceLosses(spec)
  const stored = await storage.losses.list(id)
  t.same(stored.map((p) => p.epoch), [1, 2, 3], 'every epoch once')
  t.same(stored.map((p) => [p.loss, p.valLoss]), reference.map((r) => [r.loss, r.valLoss]), 'losses identical to an uninterrupted run')
})

t.test('abandon(), the last resort of a shutdown past SHUTDOWN_TIMEOUT_MS, requeues a job still training without using an attempt', async (t) => {
  const storage = await openStorage({ path: path.join(t.testdir({}), 'seqserve.db') })
  t.teardown(() => storage.close())
  const request = lstmTextJob('abandoned', { seed: 7, epochs: 1000, checkpointEvery: 1 })
  const spec = { model: request.model, data: request.data, training: request.training }
  const { id } = await storage.jobs.create({ name: request.name, spec, dataSummary: summarizeData(request.data), epochs: 1000 }, Date.now())
  let runner!: JobRunner
  const firstEpoch = new Promise<void>((resolve) => {
    runner = new JobRunner({
      storage, workers: 1, leaseTtlMs: 60_000, heartbeatMs: 1000, pollMs: 50, logger: captureLogs('silent').logger,
      events: { epoch: () => resolve() },
    })
  })
  t.teardown(() => runner.stop())
  runner.start()
  await firstEpoch
  t.equal(await runner.abandon(), 1, 'one job requeued')
  const job = (await storage.jobs.findById(id))!
  t.equal(job.status, 'queued', 'back in the queue')
  t.equal(job.leaseOwner, null, 'unleased: the next start claims it at once')
  t.equal(job.attempt, 0, 'without using up an attempt')
  // What the abandoned worker still sends cannot be written: the row is no longer this process's.
  await runner.stop()
  t.equal((await storage.jobs.findById(id))!.status, 'queued', 'still queued after the process stops')
})
