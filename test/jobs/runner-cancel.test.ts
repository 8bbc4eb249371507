/**
 * Cancelling a job in the middle of a long training step, in-process (real SQLite file, real
 * worker threads): the worker polls the stop flag every time step, so the step stops part way,
 * the job ends `cancelled` without a new checkpoint, and the worker thread goes on to the next
 * queued job. Asserted on states and events only.
 */
import path from 'node:path'
import t from 'tap'
import { DEFAULT_DTYPE } from '../../src/engine/backend/select.js'
import { summarizeData } from '../../src/engine/tasks/task.js'
import { JobRunner } from '../../src/jobs/runner.js'
import { openStorage } from '../../src/storage/open.js'
import { gruPairsJob, lstmTextJob, referenceLosses } from '../helpers/job-specs.js'
import { captureLogs } from '../helpers/logs.js'

t.test('a cancel inside a long step ends the job cancelled with no new checkpoint, and the worker trains the next job', async (t) => {
  const storage = await openStorage({ path: path.join(t.testdir({}), 'seqserve.db') })
  t.teardown(() => storage.close())
  // One epoch of two batches (8 streams of 2 x 768 characters), each step seconds long (a wide
  // LSTM over long windows). Finishing the second step would end the job `succeeded`; a cancel
  // heard after the first can only end it `cancelled` by stopping the second part way.
  const slow = lstmTextJob('long-steps', { seed: 5, epochs: 1, checkpointEvery: 1 })
  slow.model = { ...slow.model, hidden_size: 384, num_layers: 1, dropout: 0, dtype: DEFAULT_DTYPE }
  slow.data = { type: 'text', text: 'the quick brown fox jumps over the lazy dog. '.repeat(274).slice(0, 8 * 2 * 768 + 1), seq_len: 768 }
  slow.training = { ...slow.training, batch_size: 8, validation_split: 0, shuffle: false }
  const next = gruPairsJob('next', { seed: 2, epochs: 3, checkpointEvery: 1 })
  next.model = { ...next.model, dtype: DEFAULT_DTYPE }
  const create = async (request: typeof slow) => {
    const spec = { model: request.model, data: request.data, training: request.training }
    return (await storage.jobs.create({ name: request.name, spec, dataSummary: summarizeData(request.data), epochs: request.training.epochs }, Date.now())).id
  }
  const slowId = await create(slow)
  const nextId = await create(next)

  const events: string[] = []
  let cancelled = false
  let runner!: JobRunner
  const done = new Promise<void>((resolve) => {
    runner = new JobRunner({
      storage, workers: 1, leaseTtlMs: 5000, heartbeatMs: 100, pollMs: 50, progressMs: 0, logger: captureLogs('silent').logger,
      events: {
        started: (job) => events.push(`started ${job.id === slowId ? 'slow' : 'next'}`),
        // Batch 1 of 2 is done: the worker is inside the second (last) step.
        progress: async (jobId) => {
          if (jobId !== slowId || cancelled) return
          cancelled = true
          events.push('cancel slow')
          await storage.jobs.requestCancel(slowId, Date.now())
          runner.cancel(slowId)
        },
        epoch: (jobId, epoch) => events.push(`epoch ${epoch} ${jobId === slowId ? 'slow' : 'next'}`),
        finished: (jobId, status) => {
          events.push(`${status} ${jobId === slowId ? 'slow' : 'next'}`)
          if (jobId === nextId) resolve()
        },
      },
    })
  })
  t.teardown(() => runner.stop())
  runner.start()
  await done

  t.same(events, [
    'started slow', 'cancel slow', 'cancelled slow',
    'started next', 'epoch 1 next', 'epoch 2 next', 'epoch 3 next', 'succeeded next',
  ], 'the slow job ends cancelled before its epoch completes; then the one worker thread trains the next job')
  const job = (await storage.jobs.findById(slowId))!
  t.equal(job.status, 'cancelled')
  t.equal(job.errorCode, null, 'cancelled, not failed')
  t.same(await storage.losses.list(slowId), [], 'no epoch recorded')
  t.equal(await storage.checkpoints.latestMeta(slowId), undefined, 'no checkpoint written')
  const following = await storage.losses.list(nextId)
  t.same(following.map((p) => p.loss), referenceLosses(next).map((r) => r.loss), 'the next job trains exactly as it would alone')
})
