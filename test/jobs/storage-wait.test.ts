/**
 * Jobs wait for a database that refuses their writes (a full disk, a read-only volume), in
 * the real app (HTTP server, worker threads, a SQLite file) with the storage's writes made to
 * fail with its typed faults: the job stays `running` and says what it waits for, its lease
 * is not taken by this node's own reaper, and once writes work again it goes on by itself and
 * succeeds with every epoch once and the losses and weights of an uninterrupted run. Past
 * STORAGE_PAUSE_MAX_MS it fails `storage_full`; a cancel still stops it; a shutdown does not
 * wait for the database, and the next start resumes the job. (test/operations/storage-wait.test.ts
 * does the same with a real full and read-only file system.)
 */
import path from 'node:path'
import t from 'tap'
import { buildApp, type App } from '../../src/app.js'
import { StorageFullError, StorageUnavailableError } from '../../src/storage/errors.js'
import { openSqliteStorage, type SqliteStorage } from '../../src/storage/sqlite/storage.js'
import type { Storage } from '../../src/storage/storage.js'
import { testConfig, type ConfigOverrides } from '../helpers/config.js'
import { gruPairsJob, referenceLosses } from '../helpers/job-specs.js'
import { JobsClient, waitFor, type JobView } from '../helpers/jobs-client.js'
import { assertLossHistory } from '../helpers/loss-checks.js'
import { sample } from '../helpers/metrics.js'
import type { TapTest } from '../helpers/server.js'

interface StorageWaitView {
  since: string
  code: string
  reason: string
  pending: string
  what_to_do: string
  fails_at: string
}

type WaitingJobView = JobView & { storage_wait: StorageWaitView | null; cancel_requested: boolean }

/** Which writes fail, and with what; `calls` counts the refused ones by method. */
interface Faults {
  error: (() => Error) | null
  /** Methods that fail while `error` is set (default: every write of training progress). */
  methods: Set<string>
  refused: Map<string, number>
}

const PROGRESS_WRITES = ['recordEpochs', 'saveCheckpoint', 'finishJob', 'renewLeases', 'requeue', 'requestCancel', 'progress.record']

/**
 * The real storage, with its writes of training progress failing while `faults.error` is set
 * (as the SQLite store raises them: typed StorageFaultErrors). `onEpoch` sees every epoch write first.
 */
function faultyStorage(real: SqliteStorage, faults: Faults, onEpoch: (epoch: number) => void = () => undefined): Storage {
  const guard = <A extends unknown[], R>(name: string, write: (...args: A) => Promise<R>) => async (...args: A): Promise<R> => {
    if (faults.error && faults.methods.has(name)) {
      faults.refused.set(name, (faults.refused.get(name) ?? 0) + 1)
      throw faults.error()
    }
    return write(...args)
  }
  const jobs = Object.assign(Object.create(real.jobs) as Storage['jobs'], {
    renewLeases: guard('renewLeases', real.jobs.renewLeases.bind(real.jobs)),
    requeue: guard('requeue', real.jobs.requeue.bind(real.jobs)),
    requestCancel: guard('requestCancel', real.jobs.requestCancel.bind(real.jobs)),
  })
  const progress = Object.assign(Object.create(real.progress) as Storage['progress'], {
    record: guard('progress.record', real.progress.record.bind(real.progress)),
  })
  const recordEpochs = guard('recordEpochs', real.recordEpochs.bind(real))
  return Object.assign(Object.create(real) as Storage, {
    jobs,
    progress,
    recordEpochs: (...args: Parameters<Storage['recordEpochs']>) => {
      onEpoch(args[2].progress.epoch)
      return recordEpochs(...args)
    },
    saveCheckpoint: guard('saveCheckpoint', real.saveCheckpoint.bind(real)),
    finishJob: guard('finishJob', real.finishJob.bind(real)),
  })
}

function newFaults(methods = PROGRESS_WRITES): Faults {
  return { error: null, methods: new Set(methods), refused: new Map() }
}

const diskFull = () => new StorageFullError('SQLITE_FULL')

async function startApp(t: TapTest, storage: Storage, overrides: ConfigOverrides = {}): Promise<{ app: App; client: JobsClient }> {
  const app = await buildApp({ config: testConfig({ databasePath: storage.location, workers: 1, leaseTtlMs: 1500, heartbeatMs: 300, ...overrides }), logger: false, storage })
  let closed = false
  t.teardown(() => (closed ? undefined : app.close()))
  app.addHook('onClose', async () => { closed = true })
  await app.listen({ host: '127.0.0.1', port: 0 })
  app.runner!.start()
  const address = app.server.address() as { port: number }
  return { app, client: new JobsClient(`http://127.0.0.1:${address.port}`) }
}

async function job(client: JobsClient, id: string): Promise<WaitingJobView> {
  return (await client.job(id)) as WaitingJobView
}

async function metrics(client: JobsClient): Promise<string> {
  return (await fetch(`${client.baseUrl}/metrics`)).text()
}

function waitUntilWaiting(client: JobsClient, id: string): Promise<WaitingJobView> {
  return waitFor('the job to wait for storage', async () => {
    const view = await job(client, id)
    return view.storage_wait ? view : undefined
  }, 60_000)
}

t.test('a full disk pauses a running job; it resumes by itself and matches an uninterrupted run', async (t) => {
  const real = openSqliteStorage({ path: path.join(t.testdir({}), 'pause.db') })
  const faults = newFaults()
  // The disk fills up as the job saves epoch 7.
  let filled = false
  const storage = faultyStorage(real, faults, (epoch) => {
    if (epoch === 7 && !filled) {
      filled = true
      faults.error = diskFull
    }
  })
  const { client } = await startApp(t, storage)
  const request = gruPairsJob('paused', { seed: 5, epochs: 30, checkpointEvery: 5 })
  const { id } = await client.submit(request)

  const paused = await waitUntilWaiting(client, id)
  t.equal(paused.status, 'running', 'still running')
  t.equal(paused.error, null)
  const wait = paused.storage_wait!
  t.equal(wait.code, 'storage_full')
  t.equal(wait.pending, 'loss of epoch 7', 'names the write it waits for')
  t.match(wait.reason, /^the disk holding the database is full \(SQLITE_FULL\)$/)
  t.match(wait.what_to_do, /Free space on that volume.*resumes by itself/)
  t.equal(Date.parse(wait.fails_at) - Date.parse(wait.since), 15 * 60_000, 'fails only after STORAGE_PAUSE_MAX_MS (default 15 minutes)')
  t.equal(sample(await metrics(client), 'seqserve_jobs_waiting_for_storage'), 1, 'the metric counts the waiting job')

  // Long enough for its lease to lapse in the database and for heartbeats to fail over it.
  await waitFor('the lease to lapse and three renewals to be refused', async () => {
    const row = await real.jobs.findById(id)
    return row!.leaseExpiresAt! < Date.now() && (faults.refused.get('renewLeases') ?? 0) >= 3 ? true : undefined
  }, 60_000)
  t.equal((await job(client, id)).status, 'running', 'this node does not reap a job that waits for storage')
  faults.error = null

  const [done] = (await client.waitForFinished([id], 120_000)) as WaitingJobView[]
  t.match(done, { status: 'succeeded', error: null, attempt: 1, storage_wait: null }, 'resumed by itself: succeeded on its first attempt')
  assertLossHistory(t, 'paused job', await client.losses(id), referenceLosses(request))
  const text = await metrics(client)
  t.equal(sample(text, 'seqserve_jobs_waiting_for_storage'), 0)
  t.equal(sample(text, 'seqserve_storage_waits_total', 'outcome="resumed"'), 1)

  // The same job on a disk that never fills: the same final weights.
  const roomy = await client.submit({ ...request, name: 'roomy' })
  await client.waitForFinished([roomy.id], 120_000)
  const weights = async (jobId: string) => (await fetch(`${client.baseUrl}/jobs/${jobId}/weights`)).json()
  t.same(await weights(id), await weights(roomy.id), 'the final checkpoint is the one an uninterrupted run writes')
})

t.test('past STORAGE_PAUSE_MAX_MS the job fails storage_full, saying how long it waited and what to do', async (t) => {
  const real = openSqliteStorage({ path: path.join(t.testdir({}), 'limit.db') })
  // Losses and checkpoints cannot be written; the job's final status can.
  const faults = newFaults(['recordEpochs', 'saveCheckpoint', 'progress.record'])
  const storage = faultyStorage(real, faults, (epoch) => {
    if (epoch === 4) faults.error = diskFull
  })
  const { client } = await startApp(t, storage, { storagePauseMaxMs: 1500 })
  const { id } = await client.submit(gruPairsJob('limit', { seed: 2, epochs: 40, checkpointEvery: 2 }))
  const [done] = await client.waitForFinished([id], 120_000)
  t.equal(done.status, 'failed')
  t.equal(done.error?.code, 'storage_full')
  t.match(done.error?.message, /^the database's disk is full: could not save the loss of epoch 4 \(SQLITE_FULL\), waited \d+ s for it \(STORAGE_PAUSE_MAX_MS=1500\); free disk space, then submit the job again$/)
  t.ok((faults.refused.get('recordEpochs') ?? 0) >= 3, 'the write was tried several times while it waited')
  t.same((await client.losses(id)).map((p) => p.epoch), [1, 2, 3], 'the epochs before are stored, each once')
  t.equal(sample(await metrics(client), 'seqserve_storage_waits_total', 'outcome="failed"'), 1)
})

t.test('a read-only database pauses the job as storage_unavailable; a cancel stops it, and it ends cancelled once writes work', async (t) => {
  const real = openSqliteStorage({ path: path.join(t.testdir({}), 'cancel.db') })
  const faults = newFaults()
  const storage = faultyStorage(real, faults, (epoch) => {
    if (epoch === 3 && faults.refused.size === 0) faults.error = () => new StorageUnavailableError('read_only', 'SQLITE_READONLY')
  })
  const { client } = await startApp(t, storage)
  const { id } = await client.submit(gruPairsJob('cancel-paused', { seed: 4, epochs: 100_000, checkpointEvery: 2 }))
  const paused = await waitUntilWaiting(client, id)
  t.match(paused.storage_wait, { code: 'storage_unavailable', pending: 'loss of epoch 3', reason: /database is read-only \(SQLITE_READONLY\)/, what_to_do: /Mount its volume read-write/ })

  const cancel = await fetch(`${client.baseUrl}/jobs/${id}/cancel`, { method: 'POST' })
  t.equal(cancel.status, 202, 'the cancel is taken though the database cannot record it')
  t.match(await cancel.json(), { status: 'running', cancel_requested: true })
  t.equal(faults.refused.get('requestCancel'), 1, 'the database refused to record it')
  t.equal((await job(client, id)).status, 'running', 'still waiting to save what it trained')

  faults.error = null
  const [done] = await client.waitForFinished([id], 120_000)
  t.equal(done.status, 'cancelled')
  const epochs = (await client.losses(id)).map((p) => p.epoch)
  t.ok(epochs.length >= 3, 'the epoch it waited to save is stored')
  t.same(epochs, Array.from({ length: epochs.length }, (_, i) => i + 1), 'every epoch stored once')
})

t.test('a shutdown does not wait for the database; the next start resumes the job from its checkpoint', async (t) => {
  const file = path.join(t.testdir({}), 'shutdown.db')
  const real = openSqliteStorage({ path: file })
  const faults = newFaults()
  const storage = faultyStorage(real, faults, (epoch) => {
    if (epoch === 6 && faults.refused.size === 0) faults.error = diskFull
  })
  const request = gruPairsJob('shutdown-paused', { seed: 8, epochs: 30, checkpointEvery: 4 })
  const first = await startApp(t, storage, { nodeId: 'node-a' })
  const { id } = await first.client.submit(request)
  await waitUntilWaiting(first.client, id)
  await first.app.close()
  const again = openSqliteStorage({ path: file })
  t.teardown(() => again.close())
  const row = await again.jobs.findById(id)
  t.equal(row?.status, 'running', 'left running for its next start: nothing could be written')
  t.equal(row?.progressEpoch, 5, 'the last epoch saved before the disk filled')

  // Space is back; the node starts again and takes its job back at once.
  const second = await startApp(t, again, { nodeId: 'node-a' })
  const [done] = await second.client.waitForFinished([id], 120_000)
  t.match(done, { status: 'succeeded', error: null })
  assertLossHistory(t, 'resumed job', await second.client.losses(id), referenceLosses(request))
})
