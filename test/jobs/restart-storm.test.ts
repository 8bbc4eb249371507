/**
 * A crash loop: the real service (`src/main.ts`, a SQLite file, three training threads) is
 * killed with SIGKILL ten times at random moments while jobs of all four tasks on RNN, LSTM
 * and GRU models train (each restart tops them up to six unfinished). Leases last a minute,
 * so every resume comes from the restarted node taking its jobs back at once. Every job must
 * succeed with each epoch stored once, the losses and final parameters of an uninterrupted
 * run, and `attempt` must count exactly the lost runs that had saved no newer checkpoint.
 *
 * Kills wait until every job in training has saved a checkpoint since the start (so the storm
 * cannot starve a job by chance), then a seeded random 0-800 ms (STORM_SEED replays a run).
 * Waits follow the jobs' progress, not the clock: on a loaded machine a restart takes long,
 * and only a running job that stops advancing (a stranded job) fails the test. Each
 * incarnation's output is kept; a failure prints its tail.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { classesJob, gruPairsJob, lstmTextJob, referenceRun, seriesJob, type JobRequest } from '../helpers/job-specs.js'
import { JobsClient } from '../helpers/jobs-client.js'
import { killNine } from '../helpers/kill.js'
import { assertLossHistory } from '../helpers/loss-checks.js'
import { logTail, startMain } from '../helpers/process.js'
import { finalCheckpoint, leaseOwnerPid, readJobStates } from '../helpers/service-db.js'

// Eleven starts of the real service: on a loaded machine this file outlasts the suite's 300 s per file.
t.setTimeout(1_200_000)

const KILLS = 10
/** Jobs in flight: each start tops them up to this many unfinished (so every kill lands on training, however fast the machine). */
const IN_FLIGHT = 6
/** A running job whose epoch does not move for this long is stranded (a loaded machine trains slowly, never not at all). */
const STALL_MS = 180_000

/** The n-th job: the six kinds in turn (all four tasks; RNN, LSTM and GRU), each with its own seed. */
function stormJob(n: number): JobRequest {
  const seed = 100 + n
  switch (n % 6) {
    case 0: return gruPairsJob(`storm-${n}-pairs-gru`, { seed, epochs: 1600, checkpointEvery: 3 })
    case 1: return lstmTextJob(`storm-${n}-text-lstm`, { seed, epochs: 400, checkpointEvery: 4 })
    case 2: return seriesJob(`storm-${n}-series-rnn`, { seed, epochs: 1600, checkpointEvery: 5, type: 'rnn' })
    case 3: return classesJob(`storm-${n}-classes-gru`, { seed, epochs: 2400, checkpointEvery: 5 })
    case 4: return seriesJob(`storm-${n}-series-lstm`, { seed, epochs: 1800, checkpointEvery: 4 })
    default: return classesJob(`storm-${n}-classes-rnn`, { seed, epochs: 3000, checkpointEvery: 6, type: 'rnn' })
  }
}

/** mulberry32: a small seeded generator, so a failing storm's kill moments can be replayed. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

const ENDED = new Set(['succeeded', 'failed', 'cancelled'])

t.test(`${KILLS} kill -9s at random moments while ${IN_FLIGHT} mixed jobs train: every job succeeds exactly as if never interrupted`, { timeout: 1_200_000 }, async (t) => {
  const seed = Number(process.env.STORM_SEED ?? Math.floor(Math.random() * 2 ** 31))
  const random = seededRandom(seed)
  t.comment(`kill moments from STORM_SEED=${seed}`)
  const dbPath = path.join(t.testdir({}), 'seqserve.db')
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqserve-storm-'))
  const logFile = path.join(logDir, 'service.log')
  t.teardown(() => {
    if (t.passing()) return fs.rmSync(logDir, { recursive: true, force: true })
    console.error(`# STORM_SEED=${seed}; the service's output (every incarnation) is kept in ${logFile}; its tail:\n${logTail(logFile, 200)}`)
  })
  const env = { DATABASE_PATH: dbPath, WORKERS: '3', LEASE_TTL_MS: '60000', HEARTBEAT_MS: '1000', LOG_LEVEL: 'info' }
  const start = async (label: string) => {
    fs.appendFileSync(logFile, `==== ${label}\n`)
    return startMain(t, { env, startTimeoutMs: 120_000, logFile })
  }
  const ids: string[] = []
  const requests: JobRequest[] = []
  /** Lost runs per job, and those of them without a newer checkpoint (the ones that cost an attempt). */
  const lost = new Map<string, number>()
  const counted = new Map<string, number>()
  /** Newest checkpoint per job when the current process started. */
  let atStart = new Map<string, number>()
  const delays: number[] = []

  // Kills that interrupted training: jobs this small can all end between two polls, and a kill
  // then interrupts nothing, so the storm goes on until KILLS of them did (at most 2 x KILLS starts).
  let interrupting = 0
  for (let kill = 1; interrupting < KILLS && kill <= 2 * KILLS; kill++) {
    const service = await start(`incarnation ${kill}`)
    const client = new JobsClient(service.url)
    const unfinished = (await client.jobs(ids)).filter((j) => !ENDED.has(j.status)).length
    for (let n = unfinished; n < IN_FLIGHT; n++) {
      requests.push(stormJob(requests.length))
      ids.push((await client.submit(requests.at(-1)!)).id)
    }
    await client.waitForJobsWhileProgressing(ids, `kill ${kill}: every job in training past a checkpoint saved since this start`, (jobs) => {
      if (jobs.every((j) => ENDED.has(j.status))) return true
      const running = jobs.filter((j) => j.status === 'running')
      return running.length > 0 && running.every((j) => (j.checkpoint?.epoch ?? 0) > (atStart.get(j.id) ?? 0))
    }, STALL_MS)
    const delay = Math.floor(random() * 800)
    delays.push(delay)
    await new Promise((resolve) => setTimeout(resolve, delay))
    t.equal(await killNine(service), 'SIGKILL', `kill ${kill}`)

    const states = readJobStates(dbPath)
    let interrupted = 0
    for (const s of states.values()) {
      if (s.status !== 'running' || leaseOwnerPid(s.leaseOwner) !== service.child.pid) continue
      interrupted++
      lost.set(s.id, (lost.get(s.id) ?? 0) + 1)
      if ((s.checkpoints.at(-1) ?? 0) <= (atStart.get(s.id) ?? 0)) counted.set(s.id, (counted.get(s.id) ?? 0) + 1)
    }
    atStart = new Map([...states.values()].map((s) => [s.id, s.checkpoints.at(-1) ?? 0]))
    if (interrupted > 0) interrupting++
  }
  t.comment(`kill delays after progress (ms): ${delays.join(', ')}`)
  t.comment(`${requests.length} jobs submitted`)
  const lostRuns = [...lost.values()].reduce((a, b) => a + b, 0)
  t.equal(interrupting, KILLS, `${KILLS} kills interrupted training`)
  t.ok(lostRuns >= KILLS, `the kills interrupted ${lostRuns} runs`)

  const last = await start('last incarnation')
  const client = new JobsClient(last.url)
  // The references train on this thread while the service finishes on its own.
  const references = requests.map((r) => referenceRun(r))
  const finished = await client.waitForJobsWhileProgressing(ids, 'every job finished', (jobs) => jobs.every((j) => ENDED.has(j.status)), STALL_MS)
  const losses = await Promise.all(ids.map((id) => client.losses(id)))
  await killNine(last)
  for (const [i, job] of finished.entries()) {
    const label = requests[i].name
    t.match(job, { status: 'succeeded', error: null, progress: { epoch: requests[i].training.epochs } }, `${label}: succeeded`)
    t.equal(job.attempt, 1 + (counted.get(job.id) ?? 0),
      `${label}: attempt ${job.attempt} counts the ${counted.get(job.id) ?? 0} of its ${lost.get(job.id) ?? 0} lost runs that saved no newer checkpoint`)
    assertLossHistory(t, label, losses[i], references[i].losses)
    const stored = finalCheckpoint(dbPath, job.id)
    const want = references[i].final.params
    const differing = stored ? want.filter((v, k) => stored.params[k] !== v).length : want.length
    t.ok(stored?.epoch === requests[i].training.epochs && stored.params.length === want.length && differing === 0,
      `${label}: final parameters identical to an uninterrupted run (${differing} of ${want.length} differ)`)
  }
  t.ok(finished.some((j) => (lost.get(j.id) ?? 0) >= 2), 'some job was lost more than once')
  t.ok(new Set(requests.map((r) => `${r.data.type}-${r.model.type}`)).size >= 6, 'all four tasks on RNN, LSTM and GRU models')
})
