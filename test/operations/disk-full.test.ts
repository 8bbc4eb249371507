/**
 * A full disk under the real service (src/main.ts in a child process) on a small tmpfs:
 * submissions answer 507 storage_full with Retry-After (never a bare 500), /readyz goes red
 * saying why, reads keep working, and everything works again once space returns, without a
 * restart.
 */
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { JobsClient, waitFor } from '../helpers/jobs-client.js'
import { fillDisk, rootSkipReason, smallTmpfs } from '../helpers/mounts.js'
import { startMain } from '../helpers/process.js'
import { bulkyJob, readiness, submitUntilRefused } from '../helpers/storage-faults.js'

const skip = rootSkipReason()

t.test('disk full: POST /jobs answers 507 storage_full, /readyz 503 with the reason; both recover when space returns', { skip }, async (t) => {
  const dir = smallTmpfs(t, 12 * 1024 * 1024)
  const service = await startMain(t, {
    // No training: the queued jobs stay put, so only the submissions write.
    env: { DATABASE_PATH: path.join(dir, 'seqserve.db'), ROLE: 'api', RATE_LIMIT_JOBS_PER_MINUTE: '0', MAX_QUEUED_JOBS: '100000' },
  })
  const client = new JobsClient(service.url)
  const before = await client.submit(bulkyJob('before', 20_000))
  t.equal((await readiness(service.url)).status, 200, 'ready while there is space')

  const filler = path.join(dir, 'filler')
  t.ok(fillDisk(filler) > 0, 'the file system is full')

  const red = await waitFor('/readyz to go red', async () => {
    const probe = await readiness(service.url)
    return probe.status === 503 ? probe.body : undefined
  }, 30_000)
  t.equal(red.checks.database, false)
  t.match(red.reasons.join(' '), /disk holding the database is full/, 'the reason names the full disk')

  const { refusal, statuses } = await submitUntilRefused(service.url)
  t.ok(refusal, `a submission was refused (statuses: ${statuses.join(',')})`)
  t.equal(refusal!.status, 507, 'HTTP 507 Insufficient Storage')
  t.equal(refusal!.headers.get('retry-after'), '60', 'Retry-After says when to try again')
  const body = (await refusal!.json()) as { code: string; message: string }
  t.equal(body.code, 'storage_full')
  t.match(body.message, /disk holding the database is full .*Nothing was written; retry later/)
  t.notOk(body.message.includes(dir), 'the client is not told server paths')
  t.notOk(statuses.includes(500), 'never a bare 500')

  const read = await client.job(before.id)
  t.equal(read.status, 'queued', 'reads still work on a full disk')

  fs.rmSync(filler)
  await waitFor('/readyz to go green again', async () => ((await readiness(service.url)).status === 200 ? true : undefined), 30_000)
  const after = await client.submit(bulkyJob('after', 20_000))
  t.equal(after.status, 'queued', 'submissions are accepted again without a restart')
  const logged = service.lines.filter((line) => line.msg === 'storage fault')
  t.ok(logged.length > 0, 'the operator log has the storage fault')
  t.match(JSON.stringify(logged[0]), /SQLITE_FULL/, '... with the native error')
})
