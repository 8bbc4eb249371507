import { FOREIGN_KEY_VIOLATION, NOT_NULL_VIOLATION, createJobs, storageTest } from './helpers.js'

storageTest('append and list loss points in epoch order', async (t, storage) => {
  const [id, other] = await createJobs(storage, 2)
  t.same(await storage.losses.list(id), [])
  await storage.losses.append(id, [
    { epoch: 2, loss: 0.5, at: 20 },
    { epoch: 1, loss: 0.9, valLoss: 1.1, at: 10 },
  ])
  await storage.losses.append(other, [{ epoch: 1, loss: 7, at: 1 }])
  await storage.losses.append(id, [{ epoch: 3, loss: 0.25, valLoss: null, at: 30 }])
  t.same(await storage.losses.list(id), [
    { epoch: 1, loss: 0.9, valLoss: 1.1, at: 10, metrics: null, lr: null },
    { epoch: 2, loss: 0.5, valLoss: null, at: 20, metrics: null, lr: null },
    { epoch: 3, loss: 0.25, valLoss: null, at: 30, metrics: null, lr: null },
  ])
  t.same(await storage.losses.at(id, 2), { epoch: 2, loss: 0.5, valLoss: null, at: 20, metrics: null, lr: null })
  t.equal(await storage.losses.at(id, 4), undefined)
  t.equal(await storage.losses.bestUpTo(id, 2), 0.5)
  t.equal(await storage.losses.bestUpTo(id, 3), 0.25)
  t.equal(await storage.losses.bestUpTo(id, 0), null)
  t.same((await storage.losses.list(other)).map((p) => p.loss), [7])
})

storageTest('each epoch is stored once: re-appending an epoch replaces it', async (t, storage) => {
  const [id] = await createJobs(storage, 1)
  await storage.losses.append(id, [{ epoch: 1, loss: 1, at: 1 }, { epoch: 2, loss: 2, at: 2 }])
  await storage.losses.append(id, [{ epoch: 2, loss: 0.2, at: 3 }])
  t.same(await storage.losses.list(id), [
    { epoch: 1, loss: 1, valLoss: null, at: 1, metrics: null, lr: null },
    { epoch: 2, loss: 0.2, valLoss: null, at: 3, metrics: null, lr: null },
  ])
})

storageTest('truncateAfter then append: a resumed run leaves each epoch exactly once', async (t, storage) => {
  const [id] = await createJobs(storage, 1)
  // First attempt reached epoch 7; its last checkpoint was at epoch 5.
  await storage.losses.append(id, [1, 2, 3, 4, 5, 6, 7].map((epoch) => ({ epoch, loss: 1 / epoch, at: epoch })))
  t.equal(await storage.losses.truncateAfter(id, 5), 2)
  t.same((await storage.losses.list(id)).map((p) => p.epoch), [1, 2, 3, 4, 5])
  // The resumed attempt writes 6..10.
  for (const epoch of [6, 7, 8, 9, 10]) await storage.losses.append(id, [{ epoch, loss: 1 / epoch, at: 100 + epoch }])
  const epochs = (await storage.losses.list(id)).map((p) => p.epoch)
  t.same(epochs, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
  t.equal((await storage.losses.list(id)).find((p) => p.epoch === 7)?.at, 107, 'epoch 7 comes from the resumed run')
  t.equal(await storage.losses.truncateAfter(id, 10), 0)
  t.equal(await storage.losses.truncateAfter(id, 0), 10, 'resuming from scratch drops everything')
})

storageTest('a bad point rejects the whole batch', async (t, storage) => {
  const [id] = await createJobs(storage, 1)
  await t.rejects(storage.losses.append(id, [{ epoch: 1, loss: 1, at: 1 }, { epoch: 2, loss: Number.NaN, at: 2 }]), { name: 'RangeError', message: /epoch 2 is not finite/ })
  await t.rejects(storage.losses.append(id, [{ epoch: 1, loss: Number.POSITIVE_INFINITY, at: 1 }]), RangeError)
  await t.rejects(storage.losses.append(id, [{ epoch: 1, loss: 1, valLoss: Number.NaN, at: 1 }]), /val_loss/)
  await t.rejects(storage.losses.append(id, [{ epoch: 0, loss: 1, at: 1 }]), /epoch must be an integer >= 1/)
  t.same(await storage.losses.list(id), [])
  // A constraint failure midway rolls back the earlier points of the batch too.
  const missingTime = { epoch: 2, loss: 1, at: null } as unknown as { epoch: number; loss: number; at: number }
  await t.rejects(storage.losses.append(id, [{ epoch: 1, loss: 1, at: 1 }, missingTime]), NOT_NULL_VIOLATION)
  t.same(await storage.losses.list(id), [], 'epoch 1 was rolled back with the failing epoch 2')
  await t.rejects(storage.losses.append('ghost', [{ epoch: 1, loss: 1, at: 1 }]), FOREIGN_KEY_VIOLATION)
})

storageTest('metrics and the learning rate are stored with each point; non-finite metrics are refused', async (t, storage) => {
  const [id] = await createJobs(storage, 1)
  await storage.losses.append(id, [
    { epoch: 1, loss: 1.5, valLoss: 1.7, at: 1, metrics: { accuracy: 0.25, val_accuracy: 0.5 }, lr: 0.1 },
    { epoch: 2, loss: 1.2, at: 2, metrics: {}, lr: 0.05 },
  ])
  t.same(await storage.losses.list(id), [
    { epoch: 1, loss: 1.5, valLoss: 1.7, at: 1, metrics: { accuracy: 0.25, val_accuracy: 0.5 }, lr: 0.1 },
    { epoch: 2, loss: 1.2, valLoss: null, at: 2, metrics: {}, lr: 0.05 },
  ])
  await storage.losses.append(id, [{ epoch: 2, loss: 1.1, at: 3 }])
  t.same(await storage.losses.at(id, 2), { epoch: 2, loss: 1.1, valLoss: null, at: 3, metrics: null, lr: null }, 'a replaced epoch takes the new point whole')
  await t.rejects(storage.losses.append(id, [{ epoch: 3, loss: 1, at: 4, metrics: { perplexity: Infinity } }]), /perplexity at epoch 3 is not finite/)
  t.equal((await storage.losses.list(id)).length, 2, 'nothing of the refused write was stored')
})

storageTest('list pages by epoch: at most `limit` points after `afterEpoch`', async (t, storage) => {
  const [id, other] = await createJobs(storage, 2)
  await storage.losses.append(id, [1, 2, 3, 4, 5].map((epoch) => ({ epoch, loss: epoch, at: epoch })))
  await storage.losses.append(other, [{ epoch: 3, loss: 9, at: 9 }])
  const epochs = async (afterEpoch: number) => (await storage.losses.list(id, { afterEpoch, limit: 2 })).map((p) => p.epoch)
  t.same(await epochs(0), [1, 2])
  t.same(await epochs(2), [3, 4])
  t.same(await epochs(4), [5])
  t.same(await epochs(5), [])
})
