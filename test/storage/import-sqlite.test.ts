/**
 * The documented move from SQLite to PostgreSQL (`npm run db:sqlite-to-postgres`), run as
 * the command itself on a real file and a real cluster: every job keeps its id, queue
 * position and times, every loss point and checkpoint byte arrives, running jobs are queued
 * again, and a non-empty target is refused with nothing written.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import t from 'tap'
import { findProjectRoot } from '../../src/http/package-info.js'
import { openPostgresStorage } from '../../src/storage/postgres/storage.js'
import { sharedPostgres } from '../helpers/postgres.js'
import { createJobs, newJob, tempStorage } from './helpers.js'

const run = promisify(execFile)

function importCommand(from: string, to: string) {
  return run('npm', ['run', '--silent', 'db:sqlite-to-postgres', '--', from, to], { cwd: findProjectRoot() })
}

t.test('db:sqlite-to-postgres copies everything and the queue goes on where it was', async (t) => {
  const { storage: sqlite, dbPath } = await tempStorage(t)
  const [done, running, queued] = await createJobs(sqlite, 3, (i) => ({ name: `job-${i}`, idempotencyKey: `key-${i}`, requestHash: `hash-${i}` }))
  await sqlite.jobs.claimNext('old-node:1:a', 60_000, 5_000)
  await sqlite.jobs.claimNext('old-node:1:a', 60_000, 5_001)
  const points = Array.from({ length: 12 }, (_, i) => ({ epoch: i + 1, loss: 1 / (i + 1) + 0.1 * Math.PI, valLoss: i % 2 === 0 ? 0.25 : null, at: 6_000 + i, metrics: i % 3 === 0 ? { accuracy: i / 12 } : null, lr: 0.01 * (i + 1) }))
  const weights = Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 7919) % 251))
  await sqlite.recordEpochs(done, 'old-node:1:a', { points: points.slice(0, 10), progress: { epoch: 10, loss: 0.2, bestLoss: 0.2 }, checkpoint: { epoch: 10, isFinal: false, format: 1, blob: weights.subarray(0, 500) } }, 7_000)
  await sqlite.finishJob(done, 'old-node:1:a', { status: 'succeeded' }, 8_000, { points: points.slice(10), progress: { epoch: 12, loss: 0.1, bestLoss: 0.1 }, checkpoint: { epoch: 12, isFinal: true, format: 1, blob: weights } })
  await sqlite.recordEpochs(running, 'old-node:1:a', { points: points.slice(0, 3), progress: { epoch: 3, loss: 0.5, bestLoss: 0.5 }, checkpoint: { epoch: 2, isFinal: false, format: 1, blob: Buffer.from('mid-run') } }, 9_000)
  const before = await Promise.all([done, running, queued].map((id) => sqlite.jobs.findById(id)))
  const name = before[0]!.name
  t.ok(await sqlite.models.setAlias(name, 'production', 1, 8_500), 'the finished job is version 1 of its model')
  const version = await sqlite.models.versionOfJob(done)
  const model = await sqlite.models.get(name)
  await sqlite.close()

  const cluster = await sharedPostgres()
  const url = await cluster.createDatabase('import')
  const { stdout } = await importCommand(dbPath, url)
  t.same(JSON.parse(stdout.trim().split('\n').at(-1)!), { from: dbPath, jobs: 3, losses: 15, checkpoints: 3, requeued: 1 })

  const pg = await openPostgresStorage({ url })
  t.teardown(() => pg.close())
  const after = await Promise.all([done, running, queued].map((id) => pg.jobs.findById(id)))
  t.same(after[0], before[0], 'a finished job arrives unchanged (id, seq, times, losses, key and hash)')
  t.same(after[2], before[2], 'a queued job arrives unchanged')
  t.match(after[1], { ...before[1], status: 'queued', leaseOwner: null, leaseExpiresAt: null }, 'a running job is queued again')
  t.same(await pg.losses.list(done), points, 'every loss point, exactly')
  t.same(await pg.models.versionOfJob(done), version, 'the model version keeps its number')
  t.same(await pg.models.get(name), model, 'and its alias')
  t.equal(model?.aliases.production, 1)
  t.ok((await pg.checkpoints.final(done))?.blob.equals(weights), 'the final checkpoint, byte for byte')
  t.same((await pg.checkpoints.listMeta(done)).map((c) => [c.epoch, c.isFinal, c.createdAt]), [[10, false, 7_000], [12, true, 8_000]])
  t.equal((await pg.checkpoints.latest(running))?.blob.toString(), 'mid-run')

  // The queue goes on: the requeued job is claimed first (its seq), and new jobs come after the imported ones.
  t.equal((await pg.jobs.claimNext('new-node:1:b', 1_000, 10_000))?.id, running)
  const next = await pg.jobs.create(newJob(), 11_000)
  t.ok(next.seq > after[2]!.seq, 'a new job gets a seq after every imported one')
  t.equal((await pg.jobs.createOrFind(newJob({ idempotencyKey: 'key-2', requestHash: 'hash-2' }), 12_000)).job.id, queued, 'idempotency keys still find their job')

  const refused = await importCommand(dbPath, url).then(() => undefined, (err: { code?: number; stderr?: string }) => err)
  t.equal(refused?.code, 1, 'a non-empty target is refused')
  t.match(refused?.stderr, /nothing was written to PostgreSQL: the PostgreSQL database already holds 4 jobs; import into an empty database/)
  t.equal(Object.values(await pg.jobs.countByStatus()).reduce((a, b) => a + b, 0), 4, 'and nothing was written to it')
})
