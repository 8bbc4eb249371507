import { createJobs, reapedIds, storageTest } from './helpers.js'

const LEASE = 30_000

storageTest('claimNext takes the oldest queued job first and starts its lease', async (t, storage) => {
  const ids = await createJobs(storage, 3)
  const job = await storage.jobs.claimNext('worker-a', LEASE, 5_000)
  t.equal(job?.id, ids[0])
  t.equal(job?.status, 'running')
  t.equal(job?.attempt, 1)
  t.equal(job?.leaseOwner, 'worker-a')
  t.equal(job?.leaseExpiresAt, 5_000 + LEASE)
  t.equal(job?.startedAt, 5_000)
  t.equal(job?.updatedAt, 5_000)
  t.same(await storage.jobs.findById(ids[0]), job, 'the returned row is what is stored')

  t.equal((await storage.jobs.claimNext('worker-b', LEASE, 5_001))?.id, ids[1])
  t.equal((await storage.jobs.claimNext('worker-a', LEASE, 5_002))?.id, ids[2])
  t.equal(await storage.jobs.claimNext('worker-a', LEASE, 5_003), undefined, 'the queue is empty')
  t.equal(await storage.jobs.countQueued(), 0)
})

storageTest('a requeued job keeps its place: older jobs still go first', async (t, storage) => {
  const [first, second] = await createJobs(storage, 2)
  await storage.jobs.claimNext('w', LEASE, 10)
  await storage.jobs.requeue(first, 'w', { countAttempt: true }, 11)
  t.equal((await storage.jobs.claimNext('w', LEASE, 12))?.id, first, 'queue order is creation order, not requeue time')
  t.equal((await storage.jobs.claimNext('w', LEASE, 13))?.id, second)
})

storageTest('renewLeases extends the listed running jobs of that owner only', async (t, storage) => {
  const [a1, b1, a2, queued, a3] = await createJobs(storage, 5)
  await storage.jobs.claimNext('a', LEASE, 100)
  await storage.jobs.claimNext('b', LEASE, 100)
  await storage.jobs.claimNext('a', LEASE, 100)
  await storage.jobs.requestCancel(queued, 100)
  await storage.jobs.claimNext('a', LEASE, 100)
  t.equal(await storage.jobs.renewLeases('a', [a1, a2, b1, queued], LEASE, 20_000), 2)
  t.equal((await storage.jobs.findById(a1))?.leaseExpiresAt, 20_000 + LEASE)
  t.equal((await storage.jobs.findById(a2))?.leaseExpiresAt, 20_000 + LEASE)
  t.equal((await storage.jobs.findById(a3))?.leaseExpiresAt, 100 + LEASE, 'a job of that owner it no longer trains (not listed) is left to lapse')
  t.equal((await storage.jobs.findById(b1))?.leaseExpiresAt, 100 + LEASE, "another owner's lease is untouched")
  t.equal((await storage.jobs.findById(queued))?.leaseExpiresAt, null)
  t.equal(await storage.jobs.renewLeases('nobody', [a1], LEASE, 20_000), 0)
  t.equal(await storage.jobs.renewLeases('a', [], LEASE, 20_000), 0)

  await storage.jobs.finish(a1, 'a', { status: 'succeeded' }, 21_000)
  t.equal(await storage.jobs.renewLeases('a', [a1, a2], LEASE, 22_000), 1, 'finished jobs hold no lease')
  t.equal((await storage.jobs.findById(a1))?.leaseOwner, null)
})

storageTest('renewed leases are not reaped; lapsed ones are, at exactly their expiry', async (t, storage) => {
  const [alive, dead] = await createJobs(storage, 2)
  await storage.jobs.claimNext('alive', 1_000, 0)
  await storage.jobs.claimNext('dead', 1_000, 0)
  await storage.jobs.renewLeases('alive', [alive], 1_000, 900)

  t.same(reapedIds(await storage.jobs.reapExpiredLeases(999)), { requeued: [], failed: [], cancelled: [] }, 'nothing lapsed yet')
  const reaped = await storage.jobs.reapExpiredLeases(1_000)
  t.same(reapedIds(reaped), { requeued: [dead], failed: [], cancelled: [] })
  t.same(reaped.requeued, [{ id: dead, attempt: 1, epoch: 0, progressed: false }], 'each reaped job comes with the attempt and epoch it reached')
  const requeued = await storage.jobs.findById(dead)
  t.equal(requeued?.status, 'queued')
  t.equal(requeued?.attempt, 1, 'the attempt is kept; the next claim adds one')
  t.equal(requeued?.leaseOwner, null)
  t.equal(requeued?.leaseExpiresAt, null)
  t.equal(requeued?.startedAt, 0, 'started_at records the first start')
  t.equal((await storage.jobs.findById(alive))?.status, 'running')

  const again = await storage.jobs.claimNext('new-worker', 1_000, 2_000)
  t.equal(again?.id, dead)
  t.equal(again?.attempt, 2)
  t.equal(again?.startedAt, 0, 'a retry does not move started_at')
})

storageTest('after 3 attempts whose leases lapsed, the job fails with code stalled', async (t, storage) => {
  const [id] = await createJobs(storage, 1)
  let now = 0
  for (let attempt = 1; attempt <= 2; attempt++) {
    t.equal((await storage.jobs.claimNext(`w${attempt}`, 100, now))?.attempt, attempt)
    now += 100
    t.same(reapedIds(await storage.jobs.reapExpiredLeases(now)), { requeued: [id], failed: [], cancelled: [] }, `attempt ${attempt} requeued`)
  }
  t.equal((await storage.jobs.claimNext('w3', 100, now))?.attempt, 3)
  now += 100
  t.same(reapedIds(await storage.jobs.reapExpiredLeases(now)), { requeued: [], failed: [id], cancelled: [] })

  const job = await storage.jobs.findById(id)
  t.equal(job?.status, 'failed')
  t.equal(job?.errorCode, 'stalled')
  t.match(job?.errorMessage, /worker was lost 3 times without saving a newer checkpoint/)
  t.equal(job?.finishedAt, now)
  t.equal(job?.leaseOwner, null)
  t.equal(await storage.jobs.claimNext('w4', 100, now), undefined)
  t.same(reapedIds(await storage.jobs.reapExpiredLeases(now + 1_000)), { requeued: [], failed: [], cancelled: [] }, 'reaping is idempotent')
})

storageTest('maxAttempts is configurable', async (t, storage) => {
  const [id] = await createJobs(storage, 1)
  await storage.jobs.claimNext('w', 100, 0)
  t.same(reapedIds(await storage.jobs.reapExpiredLeases(100, 1)).failed, [id])
})

storageTest('a lapsed job whose cancel was requested ends cancelled instead of running again', async (t, storage) => {
  const [id] = await createJobs(storage, 1)
  await storage.jobs.claimNext('w', 100, 0)
  await storage.jobs.requestCancel(id, 50)
  t.same(reapedIds(await storage.jobs.reapExpiredLeases(100)), { requeued: [], failed: [], cancelled: [id] })
  const job = await storage.jobs.findById(id)
  t.equal(job?.status, 'cancelled')
  t.equal(job?.finishedAt, 100)
})

storageTest('ownership guards: a worker that lost its lease cannot write', async (t, storage) => {
  const [id] = await createJobs(storage, 1)
  await storage.jobs.claimNext('old', 100, 0)
  t.equal(await storage.jobs.recordProgress(id, 'old', { epoch: 1, loss: 0.9, bestLoss: 0.9 }, 10), true)
  t.equal(await storage.jobs.recordProgress(id, 'intruder', { epoch: 5, loss: 0.1, bestLoss: 0.1 }, 11), false)
  t.equal(await storage.jobs.isOwnedBy(id, 'old'), true)
  t.equal(await storage.jobs.isOwnedBy(id, 'intruder'), false)

  await storage.jobs.reapExpiredLeases(100)
  await storage.jobs.claimNext('new', 100, 200)
  t.equal(await storage.jobs.isOwnedBy(id, 'old'), false)
  t.equal(await storage.jobs.recordProgress(id, 'old', { epoch: 2, loss: 0.5, bestLoss: 0.5 }, 201), false, 'zombie progress is dropped')
  t.equal(await storage.jobs.finish(id, 'old', { status: 'succeeded' }, 202), undefined, 'zombie finish is dropped')
  t.equal(await storage.jobs.requeue(id, 'old', { countAttempt: false }, 203), undefined, 'zombie requeue is dropped')
  t.equal(await storage.jobs.recordProgress(id, 'old', { epoch: 0, loss: null, bestLoss: null }, 204), false)

  const job = await storage.jobs.findById(id)
  t.equal(job?.status, 'running')
  t.equal(job?.leaseOwner, 'new')
  t.equal(job?.attempt, 2)
  t.equal(job?.progressEpoch, 1)
  t.equal(job?.loss, 0.9)

  t.equal(await storage.jobs.recordProgress(id, 'new', { epoch: 2, loss: 0.4, bestLoss: 0.4 }, 205), true)
  t.same(
    { epoch: (await storage.jobs.findById(id))?.progressEpoch, loss: (await storage.jobs.findById(id))?.loss, updatedAt: (await storage.jobs.findById(id))?.updatedAt },
    { epoch: 2, loss: 0.4, updatedAt: 205 },
  )
})

storageTest('finish ends the job for its owner and releases the lease', async (t, storage) => {
  const [ok, bad, stopped] = await createJobs(storage, 3)
  for (let i = 0; i < 3; i++) await storage.jobs.claimNext('w', LEASE, 10)

  const done = await storage.jobs.finish(ok, 'w', { status: 'succeeded' }, 20)
  t.match(done, { status: 'succeeded', finishedAt: 20, leaseOwner: null, leaseExpiresAt: null, errorCode: null, errorMessage: null })
  const failed = await storage.jobs.finish(bad, 'w', { status: 'failed', errorCode: 'nan_loss', errorMessage: 'loss became NaN at epoch 3' }, 21)
  t.match(failed, { status: 'failed', errorCode: 'nan_loss', errorMessage: 'loss became NaN at epoch 3', finishedAt: 21 })
  await storage.jobs.requestCancel(stopped, 22)
  t.match(await storage.jobs.finish(stopped, 'w', { status: 'cancelled' }, 23), { status: 'cancelled', cancelRequested: true })
  t.equal(await storage.jobs.finish(ok, 'w', { status: 'failed' }, 24), undefined, 'a finished job cannot be finished again')
  t.equal((await storage.jobs.findById(ok))?.status, 'succeeded')
})

storageTest('requeue: graceful shutdown gives the attempt back; a counted requeue keeps it', async (t, storage) => {
  const [graceful, counted] = await createJobs(storage, 2)
  await storage.jobs.claimNext('w', LEASE, 10)
  await storage.jobs.claimNext('w', LEASE, 10)

  const g = await storage.jobs.requeue(graceful, 'w', { countAttempt: false }, 20)
  t.match(g, { status: 'queued', attempt: 0, leaseOwner: null, leaseExpiresAt: null, finishedAt: null, updatedAt: 20 })
  const c = await storage.jobs.requeue(counted, 'w', { countAttempt: true }, 21)
  t.match(c, { status: 'queued', attempt: 1 })
  t.equal((await storage.jobs.claimNext('w', LEASE, 30))?.attempt, 1, 'the graceful one starts again as attempt 1')
})

storageTest('requeue of a job whose cancel was requested ends it cancelled', async (t, storage) => {
  const [id] = await createJobs(storage, 1)
  await storage.jobs.claimNext('w', LEASE, 10)
  await storage.jobs.requestCancel(id, 11)
  t.match(await storage.jobs.requeue(id, 'w', { countAttempt: false }, 12), { status: 'cancelled', finishedAt: 12 })
  t.equal(await storage.jobs.countQueued(), 0)
})
