/**
 * JobRunner.stop() in-process (real SQLite file, real worker threads), where the test can act
 * at the exact moment a worker starts a long training step.
 */
import path from 'node:path'
import t from 'tap'
import { JobRunner } from '../../src/jobs/runner.js'
import { summarizeData } from '../../src/engine/tasks/task.js'
import { openStorage } from '../../src/storage/open.js'
import { lstmTextJob } from '../helpers/job-specs.js'
import { captureLogs } from '../helpers/logs.js'

t.test('a graceful stop keeps renewing the lease until the job has checkpointed and gone back to the queue', async (t) => {
  const storage = await openStorage({ path: path.join(t.testdir({}), 'seqserve.db') })
  t.teardown(() => storage.close())
  // One slow step per epoch (a wide LSTM over one long batch), so a stop requested as an epoch
  // ends waits a whole step, several lease lifetimes, for the worker to reach a step boundary.
  const request = lstmTextJob('slow-steps', { seed: 41, epochs: 3, checkpointEvery: 100 })
  request.model = { ...request.model, hidden_size: 320, num_layers: 1, dropout: 0 }
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
  // The step under way when the stop came finishes (here it also ends epoch 2); nothing after it runs.
  t.same((await storage.losses.list(id)).map((p) => p.epoch), [1, 2], 'the step in progress was finished, no later one started')
  t.equal((await storage.checkpoints.latestMeta(id))?.epoch, 2, 'checkpointed at its last finished epoch')
})
