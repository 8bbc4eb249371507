import { FOREIGN_KEY_VIOLATION, createJobs, storageTest } from './helpers.js'

function blobOf(epoch: number): Buffer {
  return Buffer.from(`weights@${epoch}`)
}

storageTest('save and read back checkpoints, latest and final', async (t, storage) => {
  const [id, other] = await createJobs(storage, 2)
  t.equal(await storage.checkpoints.latest(id), undefined)
  t.equal(await storage.checkpoints.latestMeta(id), undefined)
  t.equal(await storage.checkpoints.final(id), undefined)

  const meta = await storage.checkpoints.save(id, { epoch: 10, isFinal: false, format: 1, blob: blobOf(10) }, 1_000)
  t.same(meta, { jobId: id, epoch: 10, isFinal: false, format: 1, createdAt: 1_000 })
  await storage.checkpoints.save(id, { epoch: 20, isFinal: false, format: 1, blob: blobOf(20) }, 2_000)
  await storage.checkpoints.save(other, { epoch: 99, isFinal: true, format: 1, blob: blobOf(99) }, 2_500)

  const latest = await storage.checkpoints.latest(id)
  t.equal(latest?.epoch, 20)
  t.ok(Buffer.isBuffer(latest?.blob))
  t.equal(latest?.blob.toString(), 'weights@20')
  t.same(await storage.checkpoints.latestMeta(id), { jobId: id, epoch: 20, isFinal: false, format: 1, createdAt: 2_000 })
  t.notOk('blob' in (await storage.checkpoints.latestMeta(id) ?? {}), 'meta does not carry the blob')
  t.equal(await storage.checkpoints.final(id), undefined, 'no final checkpoint yet')

  await storage.checkpoints.save(id, { epoch: 25, isFinal: true, format: 2, blob: blobOf(25) }, 3_000)
  t.same(
    { epoch: (await storage.checkpoints.final(id))?.epoch, format: (await storage.checkpoints.final(id))?.format, blob: (await storage.checkpoints.final(id))?.blob.toString() },
    { epoch: 25, format: 2, blob: 'weights@25' },
  )
  t.equal((await storage.checkpoints.latest(id))?.isFinal, true)
  t.equal((await storage.checkpoints.at(id, 20))?.blob.toString(), 'weights@20')
  t.equal(await storage.checkpoints.at(id, 21), undefined)
  t.equal((await storage.checkpoints.final(other))?.blob.toString(), 'weights@99', 'jobs do not see each other')
})

storageTest('Uint8Array blobs (e.g. views into a larger buffer) round-trip exactly', async (t, storage) => {
  const [id] = await createJobs(storage, 1)
  const backing = new Float32Array([1.5, -2.25, 3.125, 42])
  const view = new Uint8Array(backing.buffer, 4, 8) // only the middle two floats
  await storage.checkpoints.save(id, { epoch: 1, isFinal: false, format: 1, blob: view }, 1)
  const blob = (await storage.checkpoints.latest(id))!.blob
  t.equal(blob.byteLength, 8)
  t.same(Array.from(new Float32Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength))), [-2.25, 3.125])
})

storageTest('saving an existing epoch replaces it', async (t, storage) => {
  const [id] = await createJobs(storage, 1)
  await storage.checkpoints.save(id, { epoch: 5, isFinal: false, format: 1, blob: Buffer.from('old') }, 1)
  await storage.checkpoints.save(id, { epoch: 5, isFinal: true, format: 2, blob: Buffer.from('new') }, 2)
  t.same(await storage.checkpoints.listMeta(id), [{ jobId: id, epoch: 5, isFinal: true, format: 2, createdAt: 2 }])
  t.equal((await storage.checkpoints.latest(id))?.blob.toString(), 'new')
})

storageTest('pruning keeps the newest `keep` intermediate checkpoints and every final one', async (t, storage) => {
  const [id] = await createJobs(storage, 1)
  for (const epoch of [10, 20, 30, 40]) await storage.checkpoints.save(id, { epoch, isFinal: false, format: 1, blob: blobOf(epoch) }, epoch)
  t.same((await storage.checkpoints.listMeta(id)).map((c) => c.epoch), [30, 40], 'default keep = 2')

  await storage.checkpoints.save(id, { epoch: 45, isFinal: true, format: 1, blob: blobOf(45) }, 45)
  for (const epoch of [50, 60, 70]) await storage.checkpoints.save(id, { epoch, isFinal: false, format: 1, blob: blobOf(epoch) }, epoch)
  t.same(
    (await storage.checkpoints.listMeta(id)).map((c) => [c.epoch, c.isFinal]),
    [
      [45, true],
      [60, false],
      [70, false],
    ],
  )

  await storage.checkpoints.save(id, { epoch: 80, isFinal: false, format: 1, blob: blobOf(80) }, 80, 1)
  t.same((await storage.checkpoints.listMeta(id)).map((c) => c.epoch), [45, 80], 'keep = 1')
  await storage.checkpoints.save(id, { epoch: 90, isFinal: false, format: 1, blob: blobOf(90) }, 90, 3)
  t.same((await storage.checkpoints.listMeta(id)).map((c) => c.epoch), [45, 80, 90], 'a larger keep only stops pruning')
  await t.rejects(storage.checkpoints.save(id, { epoch: 100, isFinal: false, format: 1, blob: blobOf(100) }, 100, 0), RangeError)
  t.equal(await storage.checkpoints.at(id, 100), undefined, 'a refused save writes nothing')
})

storageTest('deleteAfter drops newer checkpoints only', async (t, storage) => {
  const [id] = await createJobs(storage, 1)
  for (const epoch of [10, 20, 30]) await storage.checkpoints.save(id, { epoch, isFinal: false, format: 1, blob: blobOf(epoch) }, epoch, 5)
  t.equal(await storage.checkpoints.deleteAfter(id, 15), 2)
  t.same((await storage.checkpoints.listMeta(id)).map((c) => c.epoch), [10])
})

storageTest('checkpoints require an existing job', async (t, storage) => {
  await t.rejects(storage.checkpoints.save('ghost', { epoch: 1, isFinal: false, format: 1, blob: blobOf(1) }, 1), FOREIGN_KEY_VIOLATION)
})

storageTest('latestMetaForJobs returns each job\'s newest checkpoint in one query', async (t, storage) => {
  const now = 1_000
  const [aId, bId, cId] = await createJobs(storage, 3)
  const a = { id: aId }, b = { id: bId }, c = { id: cId }
  const blob = Buffer.from([1, 2, 3])
  await storage.checkpoints.save(a.id, { epoch: 2, isFinal: false, format: 1, blob }, now)
  await storage.checkpoints.save(a.id, { epoch: 4, isFinal: false, format: 1, blob }, now + 1)
  await storage.checkpoints.save(b.id, { epoch: 10, isFinal: true, format: 1, blob }, now + 2)
  const metas = await storage.checkpoints.latestMetaForJobs([a.id, b.id, c.id])
  t.equal(metas.size, 2)
  t.equal(metas.get(a.id)?.epoch, 4)
  t.equal(metas.get(b.id)?.epoch, 10)
  t.equal(metas.get(b.id)?.isFinal, true)
  t.notOk(metas.has(c.id))
  t.equal((await storage.checkpoints.latestMetaForJobs([])).size, 0)
})
