/**
 * Writes of training progress that fail, in the real app (HTTP server, worker threads, a
 * SQLite file): a failure that passes is retried and the job succeeds with every epoch once;
 * a checkpoint SQLite cannot store (better-sqlite3's own RangeError) ends the job `failed`
 * with `checkpoint_too_large` (not `cancelled`, not stuck `running`); a running row with no
 * live lease can be cancelled and deleted.
 */
import path from 'node:path'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { openSqliteStorage } from '../../src/storage/sqlite/storage.js'
import type { Storage } from '../../src/storage/storage.js'
import { testConfig } from '../helpers/config.js'
import { summarizeData } from '../../src/engine/tasks/task.js'
import { gruPairsJob } from '../helpers/job-specs.js'
import { tutorialJob } from '../helpers/jobs.js'
import { JobsClient } from '../helpers/jobs-client.js'
import type { TapTest } from '../helpers/server.js'

/** The real storage with some methods replaced (the rest, and `this`, are the real object's). */
function wrapStorage(real: Storage, overrides: Partial<Storage>): Storage {
  return Object.assign(Object.create(real) as Storage, overrides)
}

async function startApp(t: TapTest, storage: Storage): Promise<JobsClient> {
  const app = await buildApp({ config: testConfig({ databasePath: storage.location, workers: 1 }), logger: false, storage })
  t.teardown(() => app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  app.runner!.start()
  const address = app.server.address() as { port: number }
  return new JobsClient(`http://127.0.0.1:${address.port}`)
}

t.test('a write that fails twice (SQLITE_IOERR) is retried: the job succeeds with every epoch stored once', async (t) => {
  const real = openSqliteStorage({ path: path.join(t.testdir({}), 'retry.db') })
  let failures = 0
  const storage = wrapStorage(real, {
    recordEpochs: async (...args) => {
      if (args[2].progress.epoch === 3 && failures < 2) {
        failures++
        throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' })
      }
      return real.recordEpochs(...args)
    },
  })
  const client = await startApp(t, storage)
  const job = await client.submit(tutorialJob({ training: { epochs: 6, checkpoint_every: 2 } }) as never)
  const [done] = await client.waitForFinished([job.id])
  t.equal(failures, 2, 'the epoch-3 write failed twice')
  t.match(done, { status: 'succeeded', error: null, attempt: 1 })
  t.same((await client.losses(job.id)).map((p) => p.epoch), [1, 2, 3, 4, 5, 6], 'every epoch stored once, the retried one included')
})

t.test('a final checkpoint too big for SQLite ends the job failed with checkpoint_too_large, not cancelled or running', async (t) => {
  const real = openSqliteStorage({ path: path.join(t.testdir({}), 'too-big.db') })
  let tries = 0
  const storage = wrapStorage(real, {
    // The real write with the checkpoint padded past better-sqlite3's limit (2^29 - 24 bytes): the
    // error is the driver's own. The buffer is never touched, so it takes no memory.
    finishJob: async (jobId, owner, outcome, now, last) => {
      if (last?.checkpoint === undefined) return real.finishJob(jobId, owner, outcome, now, last)
      tries++
      return real.finishJob(jobId, owner, outcome, now, { ...last, checkpoint: { ...last.checkpoint, blob: Buffer.allocUnsafe(520 * 1024 * 1024) } })
    },
  })
  const client = await startApp(t, storage)
  const job = await client.submit(tutorialJob({ training: { epochs: 4, checkpoint_every: 1000 } }) as never)
  const [done] = await client.waitForFinished([job.id])
  t.equal(done.status, 'failed')
  t.equal(done.error?.code, 'checkpoint_too_large')
  t.match(done.error?.message, /^the final checkpoint \(epoch 4\) is \d+\.\d MiB, more than the database can store \(The bound string, buffer, or bigint is too big\); train a smaller model/)
  t.equal(tries, 1, 'a value too big is not retried')
  t.equal(done.attempt, 1)
  t.same((await client.losses(job.id)).map((p) => p.epoch), [1, 2, 3, 4], 'the losses stay')
  t.match(await real.jobs.findById(job.id), { leaseOwner: null, leaseExpiresAt: null, cancelRequested: false }, 'no lease left behind, nobody cancelled')
  const response = await fetch(`${client.baseUrl}/jobs/${job.id}`, { method: 'DELETE' })
  t.equal(response.status, 204, 'the failed job can be deleted')
})

t.test('a running row without a live lease (its worker is gone) can be cancelled and deleted', async (t) => {
  const real = openSqliteStorage({ path: path.join(t.testdir({}), 'zombie.db') })
  const client = await startApp(t, wrapStorage(real, {}))
  // Two jobs another process claimed and then lost: running rows whose leases lapsed a minute ago.
  const zombies: string[] = []
  for (const name of ['zombie-cancel', 'zombie-delete']) {
    const { model, data, training } = gruPairsJob(name, { seed: 1, epochs: 10, checkpointEvery: 5 })
    const { id } = await real.jobs.create({ name, spec: { model, data, training }, dataSummary: summarizeData(data), epochs: 10 }, Date.now())
    real.db.prepare(`UPDATE jobs SET status = 'running', attempt = 1, lease_owner = 'gone:1:dead', lease_expires_at = ? WHERE id = ?`).run(Date.now() - 60_000, id)
    zombies.push(id)
  }
  const cancel = await fetch(`${client.baseUrl}/jobs/${zombies[0]}/cancel`, { method: 'POST' })
  t.equal(cancel.status, 202)
  t.match(await cancel.json(), { status: 'cancelled' }, 'cancelled at once: no worker is left to stop it')
  t.equal((await fetch(`${client.baseUrl}/jobs/${zombies[0]}`, { method: 'DELETE' })).status, 204, 'then deleted')
  t.equal((await fetch(`${client.baseUrl}/jobs/${zombies[1]}`, { method: 'DELETE' })).status, 204, 'deleted without a cancel first')
  t.equal((await fetch(`${client.baseUrl}/jobs/${zombies[1]}`)).status, 404)
})
