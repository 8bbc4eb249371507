/**
 * The real service (src/main.ts in its own process) on a real PostgreSQL cluster: selected
 * by DATABASE_URL, which wins over DATABASE_PATH and says so; a job trains to the losses of
 * an uninterrupted run, serves predictions, and readiness checks the database.
 */
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { gruPairsJob, referenceLosses } from '../helpers/job-specs.js'
import { JobsClient } from '../helpers/jobs-client.js'
import { assertLossHistory } from '../helpers/loss-checks.js'
import { sharedPostgres } from '../helpers/postgres.js'
import { startMain } from '../helpers/process.js'

t.test('DATABASE_URL: the service stores, trains and serves on PostgreSQL', async (t) => {
  const cluster = await sharedPostgres()
  const url = await cluster.createDatabase('service')
  const sqlitePath = path.join(t.testdir({}), 'unused', 'seqserve.db')
  const service = await startMain(t, { env: { DATABASE_URL: url, DATABASE_PATH: sqlitePath, WORKERS: '1' } })

  const warning = service.lines.find((l) => l.msg?.startsWith('DATABASE_URL and DATABASE_PATH are both set'))
  t.ok(warning, 'the log says DATABASE_URL wins over DATABASE_PATH')
  t.equal(warning?.level, 40, 'as a warning')
  const started = service.lines.find((l) => l.msg === 'training workers started') as { database?: string; dialect?: string } | undefined
  t.equal(started?.dialect, 'postgres')
  t.notMatch(String(started?.database), /seqserve-test/, 'the logged location hides the password')
  t.notOk(fs.existsSync(sqlitePath), 'no SQLite file was created')

  const readyz = await fetch(`${service.url}/readyz`)
  t.equal(readyz.status, 200)
  t.same(((await readyz.json()) as { checks: unknown }).checks, { database: true, migrations: true, workers: true })

  const client = new JobsClient(service.url)
  const request = gruPairsJob('on-postgres', { seed: 11, epochs: 30, checkpointEvery: 10 })
  const submitted = await client.submit(request)
  const [job] = await client.waitForFinished([submitted.id])
  t.equal(job.status, 'succeeded')
  t.equal(job.checkpoint?.epoch, 30, 'the final checkpoint is stored')
  assertLossHistory(t, 'postgres job', await client.losses(job.id), referenceLosses(request))
  const predict = await fetch(`${service.url}/predict?model=on-postgres&input=hello`)
  t.equal(predict.status, 200, 'predicts by model name')
  t.match(await predict.json(), { job: job.id, output: /^.{5}$/ })
})
