/**
 * A database written by an older seqserve (only the first migration applied) upgrades in
 * place when the real service starts on it, and its jobs survive: listed, and run if queued.
 */
import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import t from 'tap'
import { summarizeData } from '../../src/engine/tasks/task.js'
import { openDatabase } from '../../src/storage/sqlite/database.js'
import { listMigrationFiles } from '../../src/storage/sqlite/migrate.js'
import { JobsClient } from '../helpers/jobs-client.js'
import { assertLossHistory } from '../helpers/loss-checks.js'
import { gruPairsJob, referenceLosses, type JobRequest } from '../helpers/job-specs.js'
import { startMain } from '../helpers/process.js'
import { REPO_MIGRATIONS_DIR } from './helpers.js'

/** Inserts a job the way the first schema stores it (only its columns, nothing later migrations add). */
function insertOldJob(db: BetterSqlite3.Database, job: JobRequest, status: string, at: number): string {
  const id = randomUUID()
  db.prepare(`INSERT INTO jobs (id, name, status, spec, data_summary, epochs, created_at, updated_at, finished_at, error_code, error_message)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
    id, job.name, status, JSON.stringify({ model: job.model, data: job.data, training: job.training }),
    JSON.stringify(summarizeData(job.data)), job.training.epochs, at, at,
    status === 'failed' ? at : null, status === 'failed' ? 'nan_loss' : null, status === 'failed' ? 'loss became NaN in epoch 1' : null,
  )
  return id
}

t.test('the service upgrades a first-version database in place and runs its queued job', async (t) => {
  const dir = t.testdir({ 'old-migrations': {} })
  const dbPath = path.join(dir, 'seqserve.db')
  const all = listMigrationFiles(REPO_MIGRATIONS_DIR)
  t.ok(all.length > 1, 'there are later migrations to apply')
  fs.copyFileSync(all[0].file, path.join(dir, 'old-migrations', path.basename(all[0].file)))

  const queuedRequest = gruPairsJob('from-v1', { seed: 31, epochs: 40, checkpointEvery: 10 })
  const old = openDatabase({ path: dbPath, migrationsDir: path.join(dir, 'old-migrations') })
  t.same(old.prepare('SELECT version FROM schema_migrations').pluck().all(), [all[0].version], 'the old database has only the first migration')
  const failedId = insertOldJob(old, gruPairsJob('failed-in-v1', { seed: 32, epochs: 40, checkpointEvery: 10 }), 'failed', Date.now() - 60_000)
  const queuedId = insertOldJob(old, queuedRequest, 'queued', Date.now() - 30_000)
  old.close()

  const service = await startMain(t, { env: { DATABASE_PATH: dbPath, WORKERS: '1' } })
  const client = new JobsClient(service.url)

  const reader = new BetterSqlite3(dbPath, { readonly: true })
  t.teardown(() => reader.close())
  t.same(reader.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all(), all.map((m) => m.version), 'every migration is recorded')
  const tables = reader.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all()
  t.ok(tables.includes('checkpoints') && tables.includes('losses'), 'the later tables exist')

  const listed = await client.list()
  t.same(listed.map((j) => j.id), [queuedId, failedId], 'both old jobs are listed, newest first')
  t.match(listed[1], { status: 'failed', error: { code: 'nan_loss' }, checkpoint: null })

  const [job] = await client.waitForFinished([queuedId])
  t.equal(job.status, 'succeeded', 'the queued job from the old version trained')
  t.equal(job.attempt, 1)
  t.equal(job.checkpoint?.epoch, queuedRequest.training.epochs)
  // Its stored spec predates model.dtype: it trains in float64, as it would have before.
  assertLossHistory(t, 'upgraded job', await client.losses(queuedId), referenceLosses(queuedRequest, 'float64'))
  const predict = await fetch(`${service.url}/predict?job=${queuedId}&input=hello`)
  t.equal(predict.status, 200, 'and serves predictions')
})
