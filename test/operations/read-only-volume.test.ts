/**
 * A database volume that turns read-only under the running service (src/main.ts in a child
 * process): ext4 with `errors=remount-ro` on a loop device, failed through the kernel's own
 * `trigger_fs_error`, as a failing disk does. Writes answer 503 storage_unavailable with
 * Retry-After, /readyz is 503 and names the read-only file system, reads keep working, the
 * training job waits (`storage_wait`) instead of failing, and SIGTERM does not wait for the
 * database. After the operator's repair (unmount, e2fsck, mount) the next start resumes the
 * job from its last saved checkpoint and it succeeds with the losses of an uninterrupted run.
 *
 * Linux refuses `mount -o remount,ro` while a file is open for writing (EBUSY), so a volume
 * only goes read-only under SQLite this way; one that comes back without a restart is
 * test/jobs/storage-wait.test.ts. A read-only mount at startup: damaged-database.test.ts.
 */
import path from 'node:path'
import t from 'tap'
import { lstmTextJob, referenceLosses } from '../helpers/job-specs.js'
import { JobsClient, waitFor, type JobView } from '../helpers/jobs-client.js'
import { assertLossHistory } from '../helpers/loss-checks.js'
import { ext4SkipReason, ext4Volume, failVolume, repairVolume } from '../helpers/mounts.js'
import { startMain } from '../helpers/process.js'
import { readiness } from '../helpers/storage-faults.js'

const skip = ext4SkipReason()

type WaitingJobView = JobView & { storage_wait: { code: string; reason: string; pending: string } | null }

t.test('a volume gone read-only mid-training: 503 storage_unavailable, /readyz names it, the job waits; repaired and restarted, it resumes and succeeds', { skip }, async (t) => {
  const volume = ext4Volume(t, 64 * 1024 * 1024)
  const env = { DATABASE_PATH: path.join(volume.dir, 'seqserve.db'), WORKERS: '1', NODE_ID: 'read-only-node', RATE_LIMIT_JOBS_PER_MINUTE: '0' }
  const first = await startMain(t, { env, startTimeoutMs: 60_000 })
  const client = new JobsClient(first.url)
  const request = lstmTextJob('on-a-failing-volume', { seed: 17, epochs: 3000, checkpointEvery: 100 })
  const { id } = await client.submit(request)
  await client.waitForJobs([id], 'the job past its first checkpoint', ([j]) => j.status === 'running' && (j.checkpoint?.epoch ?? 0) >= 100, 120_000)

  failVolume(volume)
  let view: WaitingJobView | undefined
  const waiting = await waitFor('the job to wait for its database', async () => {
    view = (await client.job(id)) as WaitingJobView
    return view.storage_wait ? view : undefined
  }, 120_000, () => JSON.stringify(view))
  t.equal(waiting.status, 'running', 'not failed: it waits')
  t.match(waiting.storage_wait, { code: 'storage_unavailable', reason: /SQLITE_IOERR/, pending: /^(loss|checkpoint) of epoch \d+$/ })

  const ready = await readiness(first.url)
  t.equal(ready.status, 503, '/readyz is red')
  t.equal(ready.body.checks.database, false)
  t.match(ready.body.reasons.join(' '), /file system holding the database is read-only \(EROFS\)/, 'the reason names the read-only file system')

  const refused = await fetch(`${first.url}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(lstmTextJob('refused', { seed: 1, epochs: 1, checkpointEvery: 1 })) })
  t.equal(refused.status, 503, 'a submission answers 503, not 500')
  t.equal(refused.headers.get('retry-after'), '10')
  t.match(await refused.json(), { code: 'storage_unavailable', message: /Nothing was written; retry later/ })
  t.equal((await client.job(id)).status, 'running', 'reads keep working')

  first.child.kill('SIGTERM')
  t.equal(await first.exited, 0, 'SIGTERM exits cleanly without waiting for the database')
  t.ok(first.lines.some((line) => line.jobId === id && /^shutting down while waiting for the database/.test(line.msg ?? '')), 'the job was left to the next start')

  repairVolume(volume)
  const second = await startMain(t, { env, startTimeoutMs: 60_000 })
  const again = new JobsClient(second.url)
  const [done] = await again.waitForFinished([id], 300_000)
  t.match(done, { status: 'succeeded', error: null }, 'resumed from its last saved checkpoint and succeeded')
  assertLossHistory(t, 'resumed job', await again.losses(id), referenceLosses(request))
  t.equal((await readiness(second.url)).status, 200, '/readyz is green on the repaired volume')
})
