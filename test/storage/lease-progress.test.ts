/**
 * Progress-aware leases on both stores: a lost run that saved a newer checkpoint costs no
 * attempt, a restarted node takes back its previous incarnation's leases at once (and only
 * those), a stale incarnation is fenced off, and rows no worker trains can be cancelled and
 * deleted.
 */
import type { Storage } from '../../src/storage/storage.js'
import { leaseOwner, newIncarnation } from '../../src/storage/types.js'
import { createJobs, reapedIds, storageTest } from './helpers.js'

const LEASE = 1_000
const blob = (epoch: number) => Buffer.from(`weights at epoch ${epoch}`)

/** Claims the next job for `owner` and prepares it as the runner does (rewind to the last checkpoint). */
async function start(storage: Storage, owner: string, now: number): Promise<string> {
  const job = await storage.jobs.claimNext(owner, LEASE, now)
  if (!job) throw new Error('nothing to claim')
  await storage.resumeFromCheckpoint(job.id, owner, now)
  return job.id
}

async function checkpoint(storage: Storage, id: string, owner: string, epoch: number, now: number): Promise<void> {
  if (!(await storage.saveCheckpoint(id, owner, { epoch, isFinal: false, format: 1, blob: blob(epoch) }, now))) throw new Error(`${owner} does not hold ${id}`)
}

storageTest('a lost run that saved a newer checkpoint costs no attempt; runs without progress count and fail as stalled', async (t, storage) => {
  const [id] = await createJobs(storage, 1)
  let now = 0
  // Ten lost runs in a row, each saving one newer checkpoint: the job is never failed.
  for (let run = 1; run <= 10; run++) {
    await start(storage, `w${run}`, now)
    await checkpoint(storage, id, `w${run}`, run * 5, now + 1)
    now += LEASE
    const reaped = await storage.jobs.reapExpiredLeases(now, 3)
    t.same(reaped.requeued, [{ id, attempt: 0, epoch: (run - 1) * 5, progressed: true }], `run ${run}: requeued, its attempt given back`)
  }
  t.match(await storage.jobs.findById(id), { status: 'queued', attempt: 0 })

  // Now runs that die before a newer checkpoint: the 1st and 2nd count, the 3rd fails the job.
  for (let run = 1; run <= 2; run++) {
    await start(storage, `idle${run}`, now)
    now += LEASE
    t.same((await storage.jobs.reapExpiredLeases(now, 3)).requeued, [{ id, attempt: run, epoch: 50, progressed: false }], `lost run ${run} without progress counts`)
  }
  // A resumed run that re-saves the checkpoint it started from is no progress either.
  await start(storage, 'idle3', now)
  await checkpoint(storage, id, 'idle3', 50, now + 1)
  now += LEASE
  t.same(reapedIds(await storage.jobs.reapExpiredLeases(now, 3)), { requeued: [], failed: [id], cancelled: [] })
  t.match(await storage.jobs.findById(id), { status: 'failed', errorCode: 'stalled', attempt: 3, progressEpoch: 50 })
})

storageTest('a progressing run on its last attempt is requeued, not failed', async (t, storage) => {
  const [id] = await createJobs(storage, 1)
  let now = 0
  for (let run = 1; run <= 2; run++) {
    await start(storage, `idle${run}`, now)
    now += LEASE
    await storage.jobs.reapExpiredLeases(now, 3)
  }
  await start(storage, 'third', now)
  t.equal((await storage.jobs.findById(id))?.attempt, 3)
  await checkpoint(storage, id, 'third', 4, now + 1)
  now += LEASE
  t.same(reapedIds(await storage.jobs.reapExpiredLeases(now, 3)), { requeued: [id], failed: [], cancelled: [] })
  t.match(await storage.jobs.findById(id), { status: 'queued', attempt: 2 })
})

storageTest('a restarted node takes back its previous incarnation\'s leases at once; other nodes\' wait for expiry', async (t, storage) => {
  const [progressed, idle, cancelled, other, own] = await createJobs(storage, 5)
  const old = leaseOwner('node-a', newIncarnation(101, 'aaaa'))
  const neighbour = leaseOwner('node-b', newIncarnation(202, 'bbbb'))
  const fresh = leaseOwner('node-a', newIncarnation(303, 'cccc'))
  // node ids may hold ':' themselves: this one is another node, not an incarnation of node-a.
  const lookalike = leaseOwner('node-a:x', newIncarnation(404, 'dddd'))
  await start(storage, old, 0)
  await checkpoint(storage, progressed, old, 3, 1)
  await start(storage, old, 0)
  await start(storage, old, 0)
  await storage.jobs.requestCancel(cancelled, 2)
  await start(storage, neighbour, 0)
  await start(storage, lookalike, 0)

  const reclaimed = await storage.jobs.reclaimLeases(fresh, 10, 3)
  t.same(reapedIds(reclaimed), { requeued: [progressed, idle], failed: [], cancelled: [cancelled] }, 'taken back long before the leases lapse')
  t.same(reclaimed.requeued.map((j) => [j.attempt, j.progressed]), [[0, true], [1, false]], 'the same attempt rules as a lapsed lease')
  t.match(await storage.jobs.findById(other), { status: 'running', leaseOwner: neighbour }, "another node's job keeps running until its lease lapses")
  t.match(await storage.jobs.findById(own), { status: 'running', leaseOwner: lookalike }, 'a node whose id merely starts with the same text is another node')

  // The new incarnation's own jobs are never taken from it.
  const mine = await start(storage, fresh, 20)
  t.same(reapedIds(await storage.jobs.reclaimLeases(fresh, 30, 3)), { requeued: [], failed: [], cancelled: [] })
  t.match(await storage.jobs.findById(mine), { status: 'running', leaseOwner: fresh })
})

storageTest('fencing: once its node restarted, a stale incarnation can no longer write', async (t, storage) => {
  const [id] = await createJobs(storage, 1)
  const stale = leaseOwner('node-a', newIncarnation(101, 'aaaa'))
  const fresh = leaseOwner('node-a', newIncarnation(102, 'bbbb'))
  await start(storage, stale, 0)
  await checkpoint(storage, id, stale, 2, 1)
  await storage.jobs.reclaimLeases(fresh, 5, 3)
  t.equal(await start(storage, fresh, 6), id, 'the restarted incarnation claims the job again')

  const point = { epoch: 3, loss: 0.5, at: 7 }
  t.equal(await storage.recordEpochs(id, stale, { points: [point], progress: { epoch: 3, loss: 0.5, bestLoss: 0.5 } }, 7), false, 'stale losses refused')
  t.equal(await storage.saveCheckpoint(id, stale, { epoch: 3, isFinal: false, format: 1, blob: blob(3) }, 7), undefined, 'stale checkpoint refused')
  t.equal(await storage.finishJob(id, stale, { status: 'succeeded' }, 7), undefined, 'stale finish refused')
  t.equal(await storage.jobs.requeue(id, stale, { countAttempt: false }, 7), undefined, 'stale requeue refused')
  t.equal(await storage.jobs.renewLeases(stale, [id], LEASE, 7), 0, 'stale renewal refused')
  t.same(await storage.losses.list(id), [], 'nothing the stale incarnation sent was stored')
  t.same((await storage.checkpoints.listMeta(id)).map((c) => c.epoch), [2])
  t.match(await storage.jobs.findById(id), { status: 'running', leaseOwner: fresh, attempt: 1, progressEpoch: 2 })
})

storageTest('cancel and delete: a running row whose lease lapsed ends at once; a live one is flagged or refused', async (t, storage) => {
  const [zombie, live, gone] = await createJobs(storage, 3)
  for (let i = 0; i < 3; i++) await storage.jobs.claimNext('w', LEASE, 0)
  await storage.jobs.renewLeases('w', [live], LEASE, 900)

  t.match(await storage.jobs.requestCancel(zombie, 1_000), { status: 'cancelled', cancelRequested: true, finishedAt: 1_000, leaseOwner: null })
  t.match(await storage.jobs.requestCancel(live, 1_000), { status: 'running', cancelRequested: true, leaseOwner: 'w' }, 'a job that is really running only gets the request')
  t.equal(await storage.jobs.delete(live, 1_000), 'conflict', 'a job that is really running cannot be deleted')
  t.equal(await storage.jobs.delete(gone, 1_000), 'deleted', 'a running row without a live lease can be deleted')
  t.equal(await storage.jobs.findById(gone), undefined)
  t.equal(await storage.jobs.delete(zombie, 1_000), 'deleted')
})

storageTest('holdNodeId: one live holder per id; a second process gets the next id; a released id is free again', async (t, storage) => {
  // A second connection to the same database stands for another process.
  const first = await storage.holdNodeId('host-1')
  t.match(first, { nodeId: 'host-1', exclusive: true })
  if (storage.dialect === 'sqlite' && storage.location === ':memory:') return
  const second = await storage.holdNodeId('host-1')
  t.match(second, { nodeId: 'host-1~2', exclusive: true }, 'a live holder keeps its id; the next process leases under another')
  await first.release()
  const third = await storage.holdNodeId('host-1')
  t.match(third, { nodeId: 'host-1', exclusive: true }, 'released (the holder died or stopped): the id is taken back')
  await second.release()
  await third.release()
})

