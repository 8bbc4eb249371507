/**
 * ROLE=api | worker | all in one process each (real HTTP server, real SQLite file): what each
 * node answers, what /readyz checks for its role, and the node label on every metric.
 */
import path from 'node:path'
import t from 'tap'
import { testConfig } from '../helpers/config.js'
import { tutorialJob } from '../helpers/jobs.js'
import { startServer } from '../helpers/server.js'
import { tempDir } from '../helpers/service.js'

const dir = tempDir(t)

t.test('a worker node trains and answers only /healthz, /readyz and /metrics', async (t) => {
  const config = testConfig({ databasePath: path.join(dir, 'worker.db'), role: 'worker', nodeId: 'worker-1' })
  const server = await startServer(t, { config, training: true })
  t.equal((await server.fetch('/healthz')).status, 200)
  const readyz = await server.fetch('/readyz')
  t.equal(readyz.status, 200)
  t.match(await readyz.json(), { status: 'ready', role: 'worker', checks: { database: true, migrations: true, workers: true } })
  const metrics = await (await server.fetch('/metrics')).text()
  t.match(metrics, /seqserve_jobs\{status="queued",node="worker-1",role="worker"\} 0/, 'job counts carry the node and its role')
  t.match(metrics, /seqserve_process_resident_memory_bytes\{node="worker-1",role="worker"\}/, 'so do the process metrics')
  t.equal((await server.postJson('/jobs', tutorialJob())).status, 404, 'no job submission on a worker')
  t.equal((await server.fetch('/jobs')).status, 404)
  t.equal((await server.fetch('/predict?model=x&input=y')).status, 404)
})

t.test('a worker node whose pool is down is not ready, naming its role', async (t) => {
  const config = testConfig({ databasePath: path.join(dir, 'idle-worker.db'), role: 'worker' })
  const server = await startServer(t, { config, training: false })
  const readyz = await server.fetch('/readyz')
  t.equal(readyz.status, 503)
  t.match(await readyz.json(), { role: 'worker', checks: { workers: false }, reasons: [/worker pool is not running .* on this worker node/] })
})

t.test('an API node accepts and serves but never trains; ready without a worker pool', async (t) => {
  const config = testConfig({ databasePath: path.join(dir, 'api.db'), role: 'api', nodeId: 'api-1' })
  const server = await startServer(t, { config })
  t.equal(server.app.runner, null, 'no training threads')
  const readyz = await server.fetch('/readyz')
  t.equal(readyz.status, 200)
  t.match(await readyz.json(), { status: 'ready', role: 'api', checks: { database: true, migrations: true, workers: true } })
  const submitted = await server.postJson('/jobs', tutorialJob())
  t.equal(submitted.status, 202)
  const { id } = (await submitted.json()) as { id: string }
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.match(await (await server.fetch(`/jobs/${id}`)).json(), { status: 'queued' }, 'the job waits for a worker node')
  t.match(await (await server.fetch('/metrics')).text(), /seqserve_jobs\{status="queued",node="api-1",role="api"\} 1/)
})
