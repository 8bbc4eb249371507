/**
 * A full disk that outlasts STORAGE_PAUSE_MAX_MS while a job trains, for real: the service's
 * SQLite file lives on a small tmpfs that the test fills up. The job waits for space, trying
 * its write again with growing pauses; past the limit it stops and ends `failed` with
 * `storage_full` once its status can be written (the test frees the space after the give-up)
 * — never `cancelled`, never stuck `running`, no epoch lost or stored twice. (A disk that gets
 * space back in time: test/operations/storage-wait.test.ts.) Mounting needs root; elsewhere
 * the test is skipped and says why.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { gruPairsJob } from '../helpers/job-specs.js'
import { JobsClient, waitFor } from '../helpers/jobs-client.js'
import { killNine } from '../helpers/kill.js'
import { fillDisk } from '../helpers/mounts.js'
import { startMain, type ServiceProcess } from '../helpers/process.js'

const isRoot = process.getuid?.() === 0


t.test('a full disk mid-training past STORAGE_PAUSE_MAX_MS: retried with backoff, then failed with storage_full once the status can be written', { skip: isRoot ? false : 'mounting a small tmpfs needs root' }, async (t) => {
  // Not t.testdir(): the folder must outlive the service and the mount, so one teardown does all three in order.
  const mount = fs.mkdtempSync(path.join(os.tmpdir(), 'seqserve-small-disk-'))
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mount])
  let service: ServiceProcess | undefined
  t.teardown(async () => {
    if (service && service.child.exitCode === null && service.child.signalCode === null) await killNine(service)
    execFileSync('umount', ['-l', mount])
    fs.rmSync(mount, { recursive: true, force: true })
  })
  const env = { DATABASE_PATH: path.join(mount, 'seqserve.db'), WORKERS: '1', LEASE_TTL_MS: '60000', HEARTBEAT_MS: '1000', STORAGE_PAUSE_MAX_MS: '3000' }
  service = await startMain(t, { env, startTimeoutMs: 60_000 })
  const client = new JobsClient(service.url)
  const { id } = await client.submit(gruPairsJob('disk-full', { seed: 9, epochs: 100_000, checkpointEvery: 2 }))
  await client.waitForJobs([id], 'the job past a checkpoint', ([j]) => j.status === 'running' && (j.checkpoint?.epoch ?? 0) >= 2, 60_000)

  const filler = path.join(mount, 'filler')
  t.ok(fillDisk(filler) > 0, 'filled the disk')
  const lines = service.lines
  const gaveUp = await waitFor('the runner giving up on a write', () =>
    lines.find((l) => l.jobId === id && l.level === 50 && l.msg?.startsWith('could not record training progress')), 60_000)
  fs.unlinkSync(filler)
  t.match(gaveUp, { code: 'storage_full' })

  const [job] = await client.waitForFinished([id], 60_000)
  t.equal(job.status, 'failed', 'failed, not cancelled: nobody cancelled it')
  t.equal(job.error?.code, 'storage_full')
  t.match(job.error?.message, /disk is full: could not save the (loss of epoch \d+|checkpoint of epoch \d+) \(SQLITE_FULL\), waited \d+ s for it \(STORAGE_PAUSE_MAX_MS=3000\); free disk space/)
  const waiting = lines.find((l) => l.jobId === id && l.msg?.startsWith('waiting for the database to take the'))
  t.match(waiting?.msg, /disk holding the database is full.*resumes by itself/, 'the log said it waited for space')
  const retries = lines.filter((l) => l.jobId === id && l.msg?.startsWith('could not save the') && typeof l.delayMs === 'number').map((l) => l.delayMs)
  t.same(retries.slice(0, 4), [250, 500, 1000, 2000], 'each write was tried again after 250, 500, 1000, 2000 ms')
  const epochs = (await client.losses(id)).map((p) => p.epoch)
  t.same(epochs, Array.from({ length: epochs.length }, (_, i) => i + 1), `epochs 1..${epochs.length} stored, each once`)
  t.ok(job.checkpoint !== null && job.checkpoint.epoch <= epochs.length, 'its last checkpoint is kept')
})
