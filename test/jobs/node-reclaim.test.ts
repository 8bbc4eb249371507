/**
 * A node restarted after kill -9 takes its jobs back at once instead of waiting for their
 * lease to lapse, and a second live process on the same database never takes them from the
 * first: it holds a node id of its own. The real service (`src/main.ts`), a real SQLite file,
 * leases of a minute, so only the immediate take-back can resume the job in time.
 */
import path from 'node:path'
import { hostname } from 'node:os'
import BetterSqlite3 from 'better-sqlite3'
import t from 'tap'
import { lstmTextJob } from '../helpers/job-specs.js'
import { JobsClient, waitFor } from '../helpers/jobs-client.js'
import { killNine } from '../helpers/kill.js'
import { startMain } from '../helpers/process.js'
import { leaseOwnerPid } from '../helpers/service-db.js'

const LEASE_TTL_MS = 60_000

function leaseOf(dbPath: string, id: string): { lease_owner: string | null; lease_expires_at: number | null; status: string } {
  const db = new BetterSqlite3(dbPath, { readonly: true })
  try {
    return db.prepare('SELECT lease_owner, lease_expires_at, status FROM jobs WHERE id = ?').get(id) as never
  } finally {
    db.close()
  }
}

t.test('kill -9, restart: the job resumes long before its lease would lapse; a second live process leases as another node', async (t) => {
  const dbPath = path.join(t.testdir({}), 'seqserve.db')
  const env = { DATABASE_PATH: dbPath, WORKERS: '1', LEASE_TTL_MS: String(LEASE_TTL_MS), HEARTBEAT_MS: '1000' }
  const first = await startMain(t, { env, startTimeoutMs: 60_000 })
  let client = new JobsClient(first.url)
  const { id } = await client.submit(lstmTextJob('reclaim', { seed: 3, epochs: 100_000, checkpointEvery: 5 }))
  await client.waitForJobs([id], 'the job past its first checkpoint', ([j]) => j.status === 'running' && (j.checkpoint?.epoch ?? 0) > 0, 60_000)
  await killNine(first)
  const lapsed = leaseOf(dbPath, id)
  t.equal(leaseOwnerPid(lapsed.lease_owner), first.child.pid, 'the dead process still holds the lease')

  const second = await startMain(t, { env, startTimeoutMs: 60_000 })
  client = new JobsClient(second.url)
  const resumed = await waitFor('the restarted process resuming the job', () =>
    second.lines.find((l) => l.jobId === id && l.msg === 'job resumed from checkpoint'), 60_000)
  const taken = second.lines.find((l) => l.jobId === id && l.msg?.startsWith('job lease taken back from a previous run of this node'))
  t.match(taken, { progressed: true, attempt: 0 }, 'taken back at start; the lost run had saved a checkpoint, so its attempt was given back')
  t.ok(typeof resumed.time === 'number' && resumed.time < lapsed.lease_expires_at!,
    `resumed ${((lapsed.lease_expires_at! - (resumed.time as number)) / 1000).toFixed(1)} s before the old lease would have lapsed (LEASE_TTL_MS=${LEASE_TTL_MS})`)
  t.match(second.lines.find((l) => l.msg === `leasing jobs as node ${hostname()}`), { exclusive: true, reclaimed: 1 }, 'the restart holds the same node id')
  t.equal((await client.job(id)).attempt, 1, 'still attempt 1')

  // A second process on the same file, with the same default node id, while the first lives.
  const third = await startMain(t, { env, startTimeoutMs: 60_000 })
  const held = await waitFor('the second live process taking a node id', () => third.lines.find((l) => l.msg?.startsWith('leasing jobs as node ')), 60_000)
  t.match(held, { leaseNode: `${hostname()}~2`, exclusive: true, reclaimed: 0 }, 'it leases under the next free id and takes nothing')
  t.ok(third.lines.some((l) => l.level === 40 && l.msg?.includes(`node id ${hostname()} is held by another live process`)), 'and says why in a warning')
  const after = leaseOf(dbPath, id)
  t.equal(after.status, 'running')
  t.equal(leaseOwnerPid(after.lease_owner), second.child.pid, 'the job stays with the process training it')
})
