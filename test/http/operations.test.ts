import os from 'node:os'
import t from 'tap'
import type { Storage } from '../../src/storage/storage.js'
import { SqliteStorage } from '../../src/storage/sqlite/storage.js'
import { tutorialJob } from '../helpers/jobs.js'
import { startService, tempDir } from '../helpers/service.js'
import { sample } from '../helpers/metrics.js'

const dir = tempDir(t)

/** The service's own SQLite connection, for tests that break the database on purpose. */
function sqliteOf(storage: Storage) {
  if (!(storage instanceof SqliteStorage)) throw new Error(`expected SQLite storage, got ${storage.dialect}`)
  return storage.db
}

interface ReadinessBody { status: string; checks: Record<string, boolean>; reasons: string[] }

t.test('readiness: 200 with the checks when the database, migrations and workers are fine', async (t) => {
  const service = await startService(t, { dir })
  const { response, body } = await service.getJson<ReadinessBody>('/readyz')
  t.equal(response.status, 200)
  t.same(body, { status: 'ready', role: 'all', checks: { database: true, migrations: true, workers: true }, reasons: [] })
})

t.test('readiness: 503 with reasons when the worker pool is not running', async (t) => {
  const service = await startService(t, { dir, training: false })
  const { response, body } = await service.getJson<ReadinessBody>('/readyz')
  t.equal(response.status, 503)
  t.equal(body.status, 'not_ready')
  t.equal(body.checks.workers, false)
  t.equal(body.checks.database, true)
  t.match(body.reasons.join(' '), /worker pool is not running/)
})

t.test('readiness: 503 when the schema is behind the code', async (t) => {
  const service = await startService(t, { dir })
  sqliteOf(service.app.storage).prepare('DELETE FROM schema_migrations WHERE version = (SELECT MAX(version) FROM schema_migrations)').run()
  const { response, body } = await service.getJson<ReadinessBody>('/readyz')
  t.equal(response.status, 503)
  t.equal(body.checks.migrations, false)
  t.match(body.reasons.join(' '), /schema is at version \d+, this code expects \d+/)
})

t.test('readiness: 503 when the database cannot take writes', async (t) => {
  const service = await startService(t, { dir })
  // Another connection holding the write lock makes this one's BEGIN IMMEDIATE fail after
  // its busy timeout; a short timeout keeps the test quick.
  const { default: Database } = await import('better-sqlite3')
  const other = new Database(service.databasePath)
  t.teardown(() => other.close())
  sqliteOf(service.app.storage).pragma('busy_timeout = 50')
  other.prepare('BEGIN IMMEDIATE').run()
  const { response, body } = await service.getJson<ReadinessBody>('/readyz')
  other.prepare('ROLLBACK').run()
  t.equal(response.status, 503)
  t.equal(body.checks.database, false)
  t.match(body.reasons.join(' '), /database is not writable/)
})

t.test('metrics: Prometheus text with job, training, predict and cache metrics', async (t) => {
  const service = await startService(t, { dir })
  const job = await service.submitOk(tutorialJob({ name: 'metered', training: { epochs: 30 } }))
  await service.waitForEnd(job.id)
  t.equal((await service.fetch(`/predict?job=${job.id}&input=hello`)).status, 200)
  t.equal((await service.fetch(`/predict?job=${job.id}&input=hello`)).status, 200)
  t.equal((await service.fetch(`/predict?job=${job.id}&input=xyz`)).status, 400)

  const response = await service.fetch('/metrics')
  t.equal(response.status, 200)
  t.match(response.headers.get('content-type'), /^text\/plain; version=0\.0\.4/)
  const text = await response.text()
  t.match(text, new RegExp(`^seqserve_jobs_started_total\\{node="${os.hostname()}",role="all"\\} 1$`, 'm'), 'every sample names the node (NODE_ID, default the hostname) and its role')
  t.equal(sample(text, 'seqserve_jobs', 'status="succeeded"'), 1, 'jobs by status')
  t.equal(sample(text, 'seqserve_jobs', 'status="queued"'), 0)
  t.equal(sample(text, 'seqserve_jobs_started_total'), 1)
  t.equal(sample(text, 'seqserve_jobs_resumed_total'), 0)
  t.equal(sample(text, 'seqserve_jobs_finished_total', 'outcome="succeeded"'), 1)
  t.equal(sample(text, 'seqserve_epochs_trained_total'), 30, 'one per epoch')
  t.equal(sample(text, 'seqserve_tokens_trained_total'), 30 * 5, 'five characters per epoch')
  t.equal(sample(text, 'seqserve_epochs_per_second'), 30 / 60, 'epochs of the last minute, per second')
  t.equal(sample(text, 'seqserve_queue_wait_seconds_count'), 1)
  t.equal(sample(text, 'seqserve_predict_duration_seconds_count', 'status_code="200"'), 2)
  t.equal(sample(text, 'seqserve_predict_duration_seconds_count', 'status_code="400"'), 1)
  t.equal(sample(text, 'seqserve_model_cache_misses_total'), 1, 'the model was loaded once')
  t.ok(sample(text, 'seqserve_model_cache_hits_total')! >= 1, 'then served from memory')
  t.ok(sample(text, 'seqserve_process_cpu_user_seconds_total')! > 0, 'default process metrics')
  t.ok(sample(text, 'seqserve_nodejs_eventloop_lag_seconds') !== undefined)
})
