/**
 * What only the PostgreSQL store has (the shared suite covers everything both stores do):
 * chunked checkpoints, migrations under an advisory lock, LISTEN/NOTIFY wake-ups and the
 * readiness probe, on a real cluster.
 */
import pg from 'pg'
import t from 'tap'
import { DatabaseNewerThanCodeError } from '../../src/storage/errors.js'
import { defaultMigrationsDir, listMigrationFiles } from '../../src/storage/migrations.js'
import { CHECKPOINT_CHUNK_BYTES } from '../../src/storage/postgres/checkpoints-repository.js'
import { openPostgresStorage, redactUrl, type PostgresStorage } from '../../src/storage/postgres/storage.js'
import { sharedPostgres } from '../helpers/postgres.js'
import type { TapTest } from '../helpers/server.js'
import { createJobs, newJob, rejection } from './helpers.js'

async function freshDatabase(t: TapTest): Promise<string> {
  const cluster = await sharedPostgres()
  const url = await cluster.createDatabase('pgonly')
  t.teardown(() => cluster.dropDatabase(url))
  return url
}

async function open(t: TapTest, url: string): Promise<PostgresStorage> {
  const storage = await openPostgresStorage({ url })
  t.teardown(() => storage.close())
  return storage
}

async function sql<R extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client(url)
  await client.connect()
  try {
    return (await client.query<R>(text, values)).rows
  } finally {
    await client.end()
  }
}

t.test('a checkpoint larger than one chunk is stored in chunks and read back byte for byte', async (t) => {
  const url = await freshDatabase(t)
  const storage = await open(t, url)
  const [id] = await createJobs(storage, 1)
  const size = 2 * CHECKPOINT_CHUNK_BYTES + 12_345
  const blob = Buffer.alloc(size)
  for (let i = 0; i + 4 <= size; i += 4) blob.writeUInt32LE((i * 2_654_435_761) >>> 0, i)

  const meta = await storage.checkpoints.save(id, { epoch: 7, isFinal: true, format: 1, blob }, 1)
  t.match(meta, { jobId: id, epoch: 7, isFinal: true })
  const parts = await sql<{ part: number; bytes: number }>(url,
    'SELECT part, octet_length(data) AS bytes FROM checkpoint_chunks ORDER BY part')
  t.same(parts.map((p) => p.part), [0, 1, 2], 'three chunks')
  t.same(parts.map((p) => Number(p.bytes)), [CHECKPOINT_CHUNK_BYTES, CHECKPOINT_CHUNK_BYTES, 12_345])

  const back = await storage.checkpoints.final(id)
  t.equal(back?.blob.length, size)
  t.ok(back?.blob.equals(blob), 'identical bytes')

  // Replacing the checkpoint of an epoch replaces all its chunks.
  await storage.checkpoints.save(id, { epoch: 7, isFinal: true, format: 1, blob: Buffer.from('small') }, 2)
  t.equal((await storage.checkpoints.final(id))?.blob.toString(), 'small')
  t.same((await sql(url, 'SELECT part FROM checkpoint_chunks')).length, 1, 'no chunk of the old bytes is left')

  // An empty checkpoint is one empty chunk.
  await storage.checkpoints.save(id, { epoch: 8, isFinal: false, format: 1, blob: Buffer.alloc(0) }, 3)
  t.equal((await storage.checkpoints.at(id, 8))?.blob.length, 0)

  await storage.finishJob(id, 'nobody', { status: 'failed' }, 4)
  await sql(url, `UPDATE jobs SET status = 'succeeded'`)
  t.equal(await storage.jobs.delete(id), 'deleted')
  t.same(await sql(url, 'SELECT part FROM checkpoint_chunks'), [], 'deleting the job deletes the chunks')
})

t.test('replicas starting together migrate once; each version is recorded once', async (t) => {
  const url = await freshDatabase(t)
  const stores = await Promise.all(Array.from({ length: 4 }, () => openPostgresStorage({ url })))
  t.teardown(() => Promise.all(stores.map((s) => s.close())))
  const versions = await sql<{ version: number; name: string }>(url, 'SELECT version, name FROM schema_migrations ORDER BY version')
  t.same(versions.map((v) => v.name), listMigrationFiles(defaultMigrationsDir('postgres')).map((m) => m.name), 'every migration file, once')
  t.ok(versions.length >= 4, 'the folder holds the migrations')
  for (const store of stores) t.same(await store.checkHealth(), { writable: true, migrated: true, reasons: [] })
  // All four see one schema: a job written through one is read through another.
  const job = await stores[0].jobs.create(newJob(), 1)
  t.equal((await stores[3].jobs.findById(job.id))?.name, 'greeter')
})

t.test('a database migrated by a newer seqserve is refused with what to do', async (t) => {
  const url = await freshDatabase(t)
  await (await openPostgresStorage({ url })).close()
  await sql(url, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '0999_future', 'x')`)
  const err = await rejection(openPostgresStorage({ url }))
  t.type(err, DatabaseNewerThanCodeError)
  t.match((err as Error).message, /schema version 999 \(0999_future\).*upgrade seqserve/)
})

t.test('watchQueue: a job queued through one node wakes the listeners of another', async (t) => {
  const url = await freshDatabase(t)
  const api = await open(t, url)
  const worker = await open(t, url)
  const wakes: number[] = []
  const unwatch = await worker.watchQueue(() => wakes.push(Date.now()))
  const waitForWakes = async (n: number) => {
    for (let i = 0; i < 200 && wakes.length < n; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    return wakes.length
  }

  await api.jobs.createOrFind(newJob(), 1)
  t.equal(await waitForWakes(1), 1, 'a submission notifies')

  const claimed = (await worker.jobs.claimNext('w', 1_000, 0))!
  await worker.jobs.reapExpiredLeases(10_000)
  t.equal(await waitForWakes(2), 2, 'a lapsed lease put back in the queue notifies')

  await worker.jobs.claimNext('w2', 1_000, 10_001)
  await worker.jobs.requeue(claimed.id, 'w2', { countAttempt: false }, 10_002)
  t.equal(await waitForWakes(3), 3, 'a requeue notifies')

  await unwatch()
  await api.jobs.create(newJob(), 2)
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.equal(wakes.length, 3, 'no wake-ups after unsubscribing')
})

t.test('readiness: schema behind, and a database that refuses writes', async (t) => {
  const url = await freshDatabase(t)
  const storage = await open(t, url)
  t.same(await storage.checkHealth(), { writable: true, migrated: true, reasons: [] })

  const [previous, newest] = listMigrationFiles(defaultMigrationsDir('postgres')).slice(-2)
  await sql(url, 'DELETE FROM schema_migrations WHERE version = $1', [newest.version])
  // Versions may skip numbers (branches reserve theirs): the one before is the previous file's.
  const behind = new RegExp(`schema is at version ${previous.version}, this code expects ${newest.version}`)
  t.match(await storage.checkHealth(), { writable: true, migrated: false, reasons: [behind] })
  await sql(url, 'INSERT INTO schema_migrations VALUES ($1, $2, $3)', [newest.version, newest.name, 'x'])

  const name = new URL(url).pathname.slice(1)
  const admin = (await sharedPostgres()).url()
  await sql(admin, `ALTER DATABASE ${pg.escapeIdentifier(name)} SET default_transaction_read_only = on`)
  // Pooled connections keep the setting they started with; drop them so the next probe reconnects.
  await sql(admin, 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name])
  // A probe may land on a pooled connection that was just terminated; the next one reconnects.
  let health = await storage.checkHealth()
  for (let i = 0; i < 3 && !/read-only/.test(health.reasons.join(' ')); i++) health = await storage.checkHealth()
  t.match(health, { writable: false, migrated: false, reasons: [/database is not writable: .*read-only/] })
  await sql(admin, `ALTER DATABASE ${pg.escapeIdentifier(name)} SET default_transaction_read_only = off`)
  await sql(admin, 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name])
})

t.test('the location logged never shows the password', async (t) => {
  t.equal(redactUrl('postgres://seqserve:s3cret@db:5432/seqserve'), 'postgres://seqserve:***@db:5432/seqserve')
  t.equal(redactUrl('postgres://db/seqserve'), 'postgres://db/seqserve')
  const url = await freshDatabase(t)
  const storage = await open(t, url)
  t.notMatch(storage.location, /seqserve-test/, 'the test cluster password is hidden')
  t.equal(storage.dialect, 'postgres')
})
