import type { Storage } from '../../src/storage/storage.js'
import { createJobs, storageTest } from './helpers.js'

function points(from: number, to: number, at = 0) {
  const out = []
  for (let epoch = from; epoch <= to; epoch++) out.push({ epoch, loss: 10 / epoch, at: at + epoch })
  return out
}

function ckpt(epoch: number, isFinal = false) {
  return { epoch, isFinal, format: 1, blob: Buffer.from(`state@${epoch}`) }
}

async function claimed(storage: Storage, owner = 'w'): Promise<string> {
  const job = await storage.jobs.claimNext(owner, 1_000, 0)
  if (job === undefined) throw new Error('nothing to claim')
  return job.id
}

storageTest('recordEpochs writes losses, progress and checkpoint together, only for the lease owner', async (t, storage) => {
  await createJobs(storage, 1)
  const id = await claimed(storage, 'owner')

  t.equal(await storage.recordEpochs(id, 'owner', { points: points(1, 10), progress: { epoch: 10, loss: 1, bestLoss: 1 }, checkpoint: ckpt(10) }, 50), true)
  t.same((await storage.losses.list(id)).map((p) => p.epoch), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
  t.match(await storage.jobs.findById(id), { progressEpoch: 10, loss: 1, bestLoss: 1, updatedAt: 50 })
  t.same(await storage.checkpoints.latestMeta(id), { jobId: id, epoch: 10, isFinal: false, format: 1, createdAt: 50 })

  t.equal(await storage.recordEpochs(id, 'zombie', { points: points(11, 12), progress: { epoch: 12, loss: 0.1, bestLoss: 0.1 }, checkpoint: ckpt(12) }, 60), false)
  t.equal((await storage.losses.list(id)).length, 10, 'no loss points from a non-owner')
  t.equal((await storage.checkpoints.latestMeta(id))?.epoch, 10, 'no checkpoint from a non-owner')
  t.equal((await storage.jobs.findById(id))?.progressEpoch, 10)
})

storageTest('recordEpochs is all-or-nothing', async (t, storage) => {
  await createJobs(storage, 1)
  const id = await claimed(storage)
  await t.rejects(storage.recordEpochs(id, 'w', { points: [...points(1, 3), { epoch: 4, loss: Number.NaN, at: 4 }], progress: { epoch: 4, loss: null, bestLoss: null }, checkpoint: ckpt(4) }, 1),
  )
  await t.rejects(storage.recordEpochs(id, 'w', { points: points(1, 3), progress: { epoch: 3, loss: 1, bestLoss: 1 }, checkpoint: ckpt(3), keepCheckpoints: 0 }, 1))
  t.same(await storage.losses.list(id), [], 'the loss points of the failed update were rolled back')
  t.equal(await storage.checkpoints.latest(id), undefined)
  t.equal((await storage.jobs.findById(id))?.progressEpoch, 0)
})

storageTest('saveCheckpoint is guarded by the lease', async (t, storage) => {
  await createJobs(storage, 1)
  const id = await claimed(storage, 'owner')
  t.equal(await storage.saveCheckpoint(id, 'other', ckpt(5), 1), undefined)
  t.equal(await storage.checkpoints.latest(id), undefined)
  t.match(await storage.saveCheckpoint(id, 'owner', ckpt(5), 2), { epoch: 5, createdAt: 2 })
})

storageTest('resumeFromCheckpoint rewinds losses, checkpoints and progress to the latest checkpoint', async (t, storage) => {
  await createJobs(storage, 1)
  const id = await claimed(storage, 'first')
  await storage.recordEpochs(id, 'first', { points: points(1, 10), progress: { epoch: 10, loss: 1, bestLoss: 1 }, checkpoint: ckpt(10) }, 10)
  await storage.recordEpochs(id, 'first', { points: points(11, 13), progress: { epoch: 13, loss: 10 / 13, bestLoss: 10 / 13 } }, 13)
  // The process dies; the lease lapses and another worker takes over.
  await storage.jobs.reapExpiredLeases(10_000)
  const retry = await storage.jobs.claimNext('second', 1_000, 10_001)
  t.equal(retry?.attempt, 1, 'the lost run had saved a newer checkpoint (epoch 10), so it gave its attempt back')

  t.equal(await storage.resumeFromCheckpoint(id, 'first', 10_002), undefined, 'the old owner cannot rewind')
  t.equal((await storage.losses.list(id)).length, 13)

  const resume = await storage.resumeFromCheckpoint(id, 'second', 10_003)
  t.equal(resume?.checkpoint?.epoch, 10)
  t.equal(resume?.checkpoint?.blob.toString(), 'state@10')
  t.same(resume?.progress, { epoch: 10, loss: 1, bestLoss: 1 })
  t.equal(resume?.droppedLossPoints, 3)
  t.equal(resume?.droppedCheckpoints, 0)
  t.match(await storage.jobs.findById(id), { progressEpoch: 10, loss: 1, bestLoss: 1, updatedAt: 10_003 })
  t.same((await storage.losses.list(id)).map((p) => p.epoch), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])

  // The resumed run continues; the history holds each epoch once.
  await storage.recordEpochs(id, 'second', { points: points(11, 20, 10_000), progress: { epoch: 20, loss: 0.5, bestLoss: 0.5 } }, 10_020)
  const epochs = (await storage.losses.list(id)).map((p) => p.epoch)
  t.same(epochs, Array.from({ length: 20 }, (_, i) => i + 1))
  t.equal((await storage.losses.at(id, 12))?.at, 10_012, 'epoch 12 comes from the resumed run')
})

storageTest('resumeFromCheckpoint without a checkpoint starts from scratch', async (t, storage) => {
  await createJobs(storage, 1)
  const id = await claimed(storage)
  await storage.recordEpochs(id, 'w', { points: points(1, 4), progress: { epoch: 4, loss: 2.5, bestLoss: 2.5 } }, 4)
  const resume = await storage.resumeFromCheckpoint(id, 'w', 5)
  t.same(resume, { checkpoint: undefined, progress: { epoch: 0, loss: null, bestLoss: null }, droppedLossPoints: 4, droppedCheckpoints: 0 })
  t.match(await storage.jobs.findById(id), { progressEpoch: 0, loss: null, bestLoss: null })
  t.same(await storage.losses.list(id), [])
})

storageTest('resumeFromCheckpoint to an older checkpoint drops newer ones; loss/bestLoss can be given', async (t, storage) => {
  await createJobs(storage, 1)
  const id = await claimed(storage)
  await storage.recordEpochs(id, 'w', { points: points(1, 5), progress: { epoch: 5, loss: 2, bestLoss: 2 }, checkpoint: ckpt(5), keepCheckpoints: 3 }, 5)
  await storage.recordEpochs(id, 'w', { points: points(6, 10), progress: { epoch: 10, loss: 1, bestLoss: 1 }, checkpoint: ckpt(10), keepCheckpoints: 3 }, 10)

  const resume = await storage.resumeFromCheckpoint(id, 'w', 11, { epoch: 5, bestLoss: 1.9 })
  t.equal(resume?.checkpoint?.epoch, 5)
  t.same(resume?.progress, { epoch: 5, loss: 2, bestLoss: 1.9 })
  t.equal(resume?.droppedCheckpoints, 1)
  t.same((await storage.checkpoints.listMeta(id)).map((c) => c.epoch), [5])
  t.same((await storage.losses.list(id)).map((p) => p.epoch), [1, 2, 3, 4, 5])

  await t.rejects(storage.resumeFromCheckpoint(id, 'w', 12, { epoch: 3 }), /no checkpoint at epoch 3/)
  t.same((await storage.losses.list(id)).map((p) => p.epoch), [1, 2, 3, 4, 5], 'a refused resume changes nothing')
})

storageTest('finishJob applies the last update and finishes in one transaction', async (t, storage) => {
  await createJobs(storage, 2)
  const id = await claimed(storage)
  const bad = await claimed(storage)

  const done = await storage.finishJob(id, 'w', { status: 'succeeded' }, 30, {
    points: points(1, 3),
    progress: { epoch: 3, loss: 10 / 3, bestLoss: 10 / 3 },
    checkpoint: ckpt(3, true),
  })
  t.match(done, { status: 'succeeded', progressEpoch: 3, finishedAt: 30, leaseOwner: null })
  t.equal((await storage.checkpoints.final(id))?.epoch, 3)
  t.equal((await storage.losses.list(id)).length, 3)
  t.equal(await storage.finishJob(id, 'w', { status: 'failed' }, 31), undefined, 'not running any more')

  await t.rejects(storage.finishJob(bad, 'w', { status: 'succeeded' }, 40, { points: [{ epoch: 1, loss: Number.NaN, at: 1 }], progress: { epoch: 1, loss: null, bestLoss: null }, checkpoint: ckpt(1, true) }))
  t.match(await storage.jobs.findById(bad), { status: 'running', finishedAt: null }, 'a failed last update leaves the job running')
  t.equal(await storage.checkpoints.final(bad), undefined)

  t.equal(await storage.finishJob(bad, 'someone-else', { status: 'failed', errorCode: 'x' }, 41), undefined)
  t.match(await storage.finishJob(bad, 'w', { status: 'failed', errorCode: 'nan_loss', errorMessage: 'loss is NaN at epoch 1' }, 42), { status: 'failed', errorCode: 'nan_loss' })
})

storageTest('deleting a finished job cascades to its checkpoints and losses only', async (t, storage) => {
  await createJobs(storage, 2)
  const gone = await claimed(storage)
  const kept = await claimed(storage)
  for (const id of [gone, kept]) {
    await storage.finishJob(id, 'w', { status: 'succeeded' }, 9, { points: points(1, 4), progress: { epoch: 4, loss: 2.5, bestLoss: 2.5 }, checkpoint: ckpt(4, true) })
    await storage.checkpoints.save(id, ckpt(2), 9)
  }
  t.equal(await storage.jobs.delete(gone), 'deleted')
  t.equal(await storage.jobs.findById(gone), undefined)
  t.same(await storage.checkpoints.listMeta(gone), [])
  t.equal(await storage.checkpoints.at(gone, 4), undefined)
  t.same(await storage.losses.list(gone), [])
  t.same((await storage.checkpoints.listMeta(kept)).map((c) => c.epoch), [2, 4])
  t.equal((await storage.checkpoints.final(kept))?.blob.toString(), 'state@4')
  t.equal((await storage.losses.list(kept)).length, 4)
})

storageTest('close is idempotent', async (t, storage) => {
  await storage.close()
  await storage.close()
  await t.rejects(storage.jobs.countQueued(), 'a closed store answers nothing')
})
