/**
 * A crash loop: the real service (`src/main.ts`, a SQLite file, two training threads) is
 * killed with SIGKILL ten times at random moments while six jobs of all four tasks on RNN,
 * LSTM and GRU models train. Leases last a minute, so every resume comes from the restarted
 * node taking its jobs back at once. Every job must succeed with each epoch stored once and
 * the losses of an uninterrupted run, and `attempt` must count exactly the lost runs that had
 * saved no newer checkpoint. Kills wait until every job in training has saved a checkpoint
 * since the start (so the storm cannot starve a job by chance), then a random 0-800 ms; only
 * final states are asserted.
 */
import path from 'node:path'
import t from 'tap'
import { classesJob, gruPairsJob, lstmTextJob, referenceLosses, seriesJob, type JobRequest } from '../helpers/job-specs.js'
import { JobsClient, waitFor } from '../helpers/jobs-client.js'
import { killNine } from '../helpers/kill.js'
import { assertLossHistory } from '../helpers/loss-checks.js'
import { startMain } from '../helpers/process.js'
import { leaseOwnerPid, readJobStates } from '../helpers/service-db.js'

const KILLS = 10

const requests: JobRequest[] = [
  gruPairsJob('storm-pairs-gru', { seed: 21, epochs: 500, checkpointEvery: 3 }),
  lstmTextJob('storm-text-lstm', { seed: 22, epochs: 300, checkpointEvery: 4 }),
  seriesJob('storm-series-rnn', { seed: 23, epochs: 900, checkpointEvery: 5, type: 'rnn' }),
  classesJob('storm-classes-gru', { seed: 24, epochs: 900, checkpointEvery: 5 }),
  seriesJob('storm-series-lstm', { seed: 25, epochs: 700, checkpointEvery: 4 }),
  classesJob('storm-classes-rnn', { seed: 26, epochs: 900, checkpointEvery: 6, type: 'rnn' }),
]

t.test(`${KILLS} kill -9s at random moments while 6 mixed jobs train: every job succeeds exactly as if never interrupted`, async (t) => {
  const dbPath = path.join(t.testdir({}), 'seqserve.db')
  const env = { DATABASE_PATH: dbPath, WORKERS: '2', LEASE_TTL_MS: '60000', HEARTBEAT_MS: '1000', LOG_LEVEL: 'info' }
  const ids: string[] = []
  /** Lost runs per job, and those of them without a newer checkpoint (the ones that cost an attempt). */
  const lost = new Map<string, number>()
  const counted = new Map<string, number>()
  /** Newest checkpoint per job when the current process started. */
  let atStart = new Map<string, number>()
  const delays: number[] = []

  for (let kill = 1; kill <= KILLS; kill++) {
    const service = await startMain(t, { env, startTimeoutMs: 60_000 })
    const client = new JobsClient(service.url)
    if (kill === 1) for (const request of requests) ids.push((await client.submit(request)).id)
    const outcome = await waitFor(`kill ${kill}: every job in training past a checkpoint saved since this start`, async () => {
      const jobs = await client.jobs(ids)
      const running = jobs.filter((j) => j.status === 'running')
      if (jobs.every((j) => j.status === 'succeeded' || j.status === 'failed' || j.status === 'cancelled')) return 'all ended'
      return running.length > 0 && running.every((j) => (j.checkpoint?.epoch ?? 0) > (atStart.get(j.id) ?? 0)) ? 'progress' : undefined
    }, 90_000)
    if (outcome === 'all ended') break
    const delay = Math.floor(Math.random() * 800)
    delays.push(delay)
    await new Promise((resolve) => setTimeout(resolve, delay))
    t.equal(await killNine(service), 'SIGKILL', `kill ${kill}`)

    const states = readJobStates(dbPath)
    for (const s of states.values()) {
      if (s.status !== 'running' || leaseOwnerPid(s.leaseOwner) !== service.child.pid) continue
      lost.set(s.id, (lost.get(s.id) ?? 0) + 1)
      if ((s.checkpoints.at(-1) ?? 0) <= (atStart.get(s.id) ?? 0)) counted.set(s.id, (counted.get(s.id) ?? 0) + 1)
    }
    atStart = new Map([...states.values()].map((s) => [s.id, s.checkpoints.at(-1) ?? 0]))
  }
  t.comment(`kill delays after progress (ms): ${delays.join(', ')}`)
  t.equal(delays.length, KILLS, `${KILLS} kills, each while jobs were training`)
  const lostRuns = [...lost.values()].reduce((a, b) => a + b, 0)
  t.ok(lostRuns >= KILLS, `the kills interrupted ${lostRuns} runs`)

  const last = await startMain(t, { env, startTimeoutMs: 60_000 })
  const client = new JobsClient(last.url)
  // The references train on this thread while the service finishes on its own.
  const references = requests.map((r) => referenceLosses(r))
  const finished = await client.waitForFinished(ids, 180_000)
  for (const [i, job] of finished.entries()) {
    const label = requests[i].name
    t.match(job, { status: 'succeeded', error: null, progress: { epoch: requests[i].training.epochs } }, `${label}: succeeded`)
    t.equal(job.attempt, 1 + (counted.get(job.id) ?? 0),
      `${label}: attempt ${job.attempt} counts the ${counted.get(job.id) ?? 0} of its ${lost.get(job.id) ?? 0} lost runs that saved no newer checkpoint`)
    assertLossHistory(t, label, await client.losses(job.id), references[i])
  }
  t.ok(finished.some((j) => (lost.get(j.id) ?? 0) >= 2), 'some job was lost more than once')
})
