/**
 * A learning-rate schedule and early stopping survive kill -9: the real service (`src/main.ts`
 * in a child process, SQLite file, worker threads) is killed while both jobs are past a
 * checkpoint in the middle of a plateau (early stopping's patience counter running, the
 * ReduceLROnPlateau already cut the lr), restarted, and each job must end exactly as an
 * uninterrupted run does: the same losses, learning rates, metrics, stopping epoch and served weights.
 */
import path from 'node:path'
import t from 'tap'
import { Predictor } from '../../src/engine/tasks/predictor.js'
import { type EpochResult, Trainer } from '../../src/engine/tasks/trainer.js'
import { JobsClient } from '../helpers/jobs-client.js'
import { MODEL_DEFAULTS, TRAINING_DEFAULTS, type JobRequest, lstmTextJob } from '../helpers/job-specs.js'
import { startMain } from '../helpers/process.js'
import { DEFAULT_DTYPE } from '../../src/engine/backend/select.js'

const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima',
  'mike', 'november', 'oscar', 'papa', 'quebec', 'romeo', 'sierra', 'tango', 'uniform', 'victor', 'whiskey', 'xray']

/** Random labels: validation loss never beats epoch 1, so the patience counter runs the whole job. */
const cycling: JobRequest = {
  name: 'resume-one-cycle',
  model: { ...MODEL_DEFAULTS, type: 'gru', hidden_size: 48 },
  data: {
    type: 'classes',
    examples: [0, 1, 2].flatMap((r) => WORDS.map((w, i) => ({ input: w + WORDS[(i + r * 5) % 24].slice(0, 3), label: 'abcd'[(i * 7 + r * 3 + w.length) % 4] }))),
  },
  training: {
    ...TRAINING_DEFAULTS, epochs: 400, optimizer: 'sgd', learning_rate: 0.1, batch_size: 6, seed: 5, validation_split: 0.25, checkpoint_every: 5,
    lr_scheduler: { type: 'OneCycleLR', step_per: 'batch', max_lr: 0.3, total_steps: 4800 },
    early_stopping: { patience: 120, min_delta: 0, restore_best: true },
  },
}

const base = lstmTextJob('resume-plateau', { seed: 1, epochs: 300, checkpointEvery: 7 })
const plateau: JobRequest = {
  ...base,
  training: {
    ...base.training,
    lr_scheduler: { type: 'ReduceLROnPlateau', step_per: 'epoch', patience: 2, factor: 0.7 },
    early_stopping: { patience: 12, min_delta: 0.002, restore_best: false },
  },
}

/**
 * An uninterrupted run of the job on this thread (omitted options take the same PyTorch
 * defaults), in the precision the API gives a job that names none, on the JavaScript kernels
 * the service below uses: the slower kernels keep both jobs training long enough for the test
 * to catch them mid-plateau at the same time (the WebAssembly ones can finish a job first).
 */
function referenceRun(request: JobRequest): { results: EpochResult[]; trainer: Trainer } {
  const trainer = new Trainer({ ...request, model: { ...request.model, dtype: DEFAULT_DTYPE } }, undefined, 'js')
  const results: EpochResult[] = []
  while (!trainer.done) results.push(trainer.runEpoch()!)
  return { results, trainer }
}

t.test('kill -9 mid-plateau: schedule, patience and metrics continue exactly', async (t) => {
  // First, as it blocks this thread for seconds: the jobs would finish meanwhile.
  const references = [cycling, plateau].map(referenceRun)
  const [cycleRef, plateauRef] = references.map((r) => r.results)
  const firstCut = plateauRef.findIndex((r) => r.lr !== plateauRef[0].lr) + 1
  t.ok(firstCut > 1, `the uninterrupted plateau run first lowers the lr in epoch ${firstCut}`)
  t.ok(cycleRef.at(-1)!.stoppedEarly && plateauRef.at(-1)!.stoppedEarly, `uninterrupted, both stop early (epochs ${cycleRef.length} and ${plateauRef.length})`)

  const dbPath = path.join(t.testdir({}), 'seqserve.db')
  const env = { DATABASE_PATH: dbPath, WORKERS: '2', LEASE_TTL_MS: '1500', HEARTBEAT_MS: '300', KERNELS: 'js' }
  const first = await startMain(t, { env })
  let client = new JobsClient(first.url)
  const ids = [(await client.submit(cycling)).id, (await client.submit(plateau)).id]

  const [cycleJob, plateauJob] = await client.waitForJobs(ids, 'both jobs past a checkpoint inside a plateau', ([c, p]) =>
    c.status === 'running' && c.checkpoint !== null && c.checkpoint.epoch >= 5 && c.progress.epoch > c.checkpoint.epoch &&
    p.status === 'running' && p.checkpoint !== null && p.checkpoint.epoch >= firstCut && p.progress.epoch > p.checkpoint.epoch, 120_000)
  first.child.kill('SIGKILL')
  t.equal(await first.exited, 'SIGKILL', 'the service died of SIGKILL')
  t.comment(`killed at epochs ${cycleJob.progress.epoch} (checkpoint ${cycleJob.checkpoint!.epoch}) and ${plateauJob.progress.epoch} (checkpoint ${plateauJob.checkpoint!.epoch})`)
  t.ok(cycleJob.checkpoint!.epoch > references[0].trainer.bestEpoch, 'the one-cycle job resumes with its patience counter running')

  const second = await startMain(t, { env })
  client = new JobsClient(second.url)
  const finished = await client.waitForFinished(ids, 120_000)
  for (const [i, job] of finished.entries()) {
    const { results, trainer } = references[i]
    const label = job.name
    t.equal(job.status, 'succeeded', `${label}: succeeded`)
    // Killed past a checkpoint it saved on that run: the lost run made progress and used no attempt.
    t.equal(job.attempt, 1, `${label}: resumed once, on the attempt it started with`)
    t.equal(job.stopped_early, true, `${label}: stopped early`)
    t.equal(job.progress.epoch, results.length, `${label}: after epoch ${results.length}, as uninterrupted`)
    const points = await client.losses(job.id)
    const got = points.map((p) => ({ epoch: p.epoch, loss: p.loss, valLoss: p.val_loss ?? null, lr: p.lr, metrics: p.metrics }))
    const want = results.map((r) => ({ epoch: r.epoch, loss: r.loss, valLoss: r.valLoss, lr: r.lr, metrics: r.metrics }))
    const differ = want.filter((w, k) => JSON.stringify(w) !== JSON.stringify(got[k]))
    t.equal(points.length, want.length, `${label}: every epoch once`)
    t.same(differ.slice(0, 2), [], `${label}: losses, learning rates and metrics identical to an uninterrupted run`)
    const served = await (await fetch(`${second.url}/jobs/${job.id}/weights`)).json() as Record<string, { data: number[] }>
    const expected = new Predictor(trainer.checkpoint()).stateDict()
    t.same(Object.keys(served).filter((k) => JSON.stringify(served[k].data) !== JSON.stringify(expected[k].data)), [], `${label}: the served weights are the uninterrupted run's`)
  }
})
