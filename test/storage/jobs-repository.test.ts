import { decodeCursor, encodeCursor } from '../../src/storage/cursor.js'
import { DuplicateIdempotencyKeyError, InvalidCursorError } from '../../src/storage/errors.js'
import type { JobRecord } from '../../src/storage/types.js'
import { createJobs, newJob, rejection, storageTest } from './helpers.js'

storageTest('create stores a queued job with a UUID and parses it back', async (t, storage) => {
  const input = newJob({ idempotencyKey: 'k1', requestHash: 'h1' })
  const job = await storage.jobs.create(input, 1_700_000_000_000)

  t.match(job.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  t.same(job, {
    seq: 1,
    id: job.id,
    name: 'greeter',
    status: 'queued',
    spec: input.spec,
    dataSummary: { type: 'pairs', count: 1 },
    epochs: 20,
    progressEpoch: 0,
    loss: null,
    bestLoss: null,
    errorCode: null,
    errorMessage: null,
    attempt: 0,
    cancelRequested: false,
    leaseOwner: null,
    leaseExpiresAt: null,
    idempotencyKey: 'k1',
    requestHash: 'h1',
    createdAt: 1_700_000_000_000,
    startedAt: null,
    finishedAt: null,
    updatedAt: 1_700_000_000_000,
  } satisfies JobRecord)
  t.same(await storage.jobs.findById(job.id), job)
  t.equal(await storage.jobs.findById('nope'), undefined)
  t.not((await storage.jobs.create(newJob(), 1)).id, job.id, 'ids are unique')
})

storageTest('idempotency keys are unique; jobs without one do not collide', async (t, storage) => {
  const first = await storage.jobs.create(newJob({ idempotencyKey: 'same', requestHash: 'a' }), 1)
  t.same(await storage.jobs.findByIdempotencyKey('same'), first)
  t.equal(await storage.jobs.findByIdempotencyKey('other'), undefined)

  const err = (await rejection(storage.jobs.create(newJob({ idempotencyKey: 'same', requestHash: 'b' }), 2))) as DuplicateIdempotencyKeyError
  t.type(err, DuplicateIdempotencyKeyError)
  t.equal(err.code, 'idempotency_key_exists')
  t.equal(err.idempotencyKey, 'same')

  await storage.jobs.create(newJob(), 3)
  await storage.jobs.create(newJob({ idempotencyKey: null }), 4)
  t.equal(await storage.jobs.countQueued(), 3, 'the duplicate was not inserted, keyless jobs were')
})

storageTest('createOrFind returns the existing job for a known key', async (t, storage) => {
  const made = await storage.jobs.createOrFind(newJob({ idempotencyKey: 'k', requestHash: 'h1' }), 1)
  t.equal(made.created, true)
  const again = await storage.jobs.createOrFind(newJob({ idempotencyKey: 'k', requestHash: 'h2' }), 2)
  t.equal(again.created, false)
  t.same(again.job, made.job)
  t.equal(again.job.requestHash, 'h1', 'the caller compares hashes to decide between replay and 422')
  t.equal((await storage.jobs.createOrFind(newJob(), 3)).created, true)
  t.equal(await storage.jobs.countQueued(), 2)
})

storageTest('list pages newest first with an opaque cursor, no duplicates, across filters', async (t, storage) => {
  // 7 jobs alternating names; statuses set below.
  const ids = await createJobs(storage, 7, (i) => ({ name: i % 2 === 0 ? 'even' : 'odd' }))
  const owner = 'w'
  // Finish jobs 0, 2 and 3 so the filters have something to separate.
  for (let i = 0; i < 4; i++) await storage.jobs.claimNext(owner, 1000, 10)
  await storage.jobs.finish(ids[0], owner, { status: 'succeeded' }, 11)
  await storage.jobs.finish(ids[2], owner, { status: 'succeeded' }, 11)
  await storage.jobs.finish(ids[3], owner, { status: 'failed', errorCode: 'x', errorMessage: 'y' }, 11)

  async function collect(query: { status?: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled'; name?: string }, limit: number) {
    const seen: string[] = []
    const pageSizes: number[] = []
    let cursor: string | undefined
    for (let guard = 0; guard < 20; guard++) {
      const page = await storage.jobs.list({ ...query, limit, cursor })
      pageSizes.push(page.items.length)
      seen.push(...page.items.map((j) => j.id))
      if (page.nextCursor === null) return { seen, pageSizes }
      cursor = page.nextCursor
    }
    throw new Error('pagination did not terminate')
  }

  const newestFirst = [...ids].reverse()
  t.same((await collect({}, 3)), { seen: newestFirst, pageSizes: [3, 3, 1] })
  t.same((await collect({}, 7)), { seen: newestFirst, pageSizes: [7] }, 'an exact fit has no empty trailing page')
  t.same((await collect({}, 100)).seen, newestFirst)
  t.same((await collect({ name: 'even' }, 2)), { seen: [ids[6], ids[4], ids[2], ids[0]], pageSizes: [2, 2] })
  t.same((await collect({ status: 'succeeded' }, 1)), { seen: [ids[2], ids[0]], pageSizes: [1, 1] })
  t.same((await collect({ status: 'running' }, 5)).seen, [ids[1]])
  t.same((await collect({ name: 'odd', status: 'queued' }, 1)).seen, [ids[5]])
  t.same((await collect({ name: 'even', status: 'queued' }, 1)).seen, [ids[6], ids[4]])
  t.same((await collect({ name: 'nobody' }, 5)), { seen: [], pageSizes: [0] })

  const first = await storage.jobs.list({ limit: 2 })
  t.type(first.nextCursor, 'string')
  t.match(first.nextCursor, /^[A-Za-z0-9_-]+$/, 'URL-safe')
  // Jobs created after the first page do not shift later pages.
  await storage.jobs.create(newJob(), 99)
  const second = await storage.jobs.list({ limit: 2, cursor: first.nextCursor! })
  t.same(second.items.map((j) => j.id), [ids[4], ids[3]])
})

storageTest('listed jobs leave the dataset out of spec; findById has it', async (t, storage) => {
  const input = newJob()
  const [id] = await createJobs(storage, 1)
  const [item] = (await storage.jobs.list({ limit: 1 })).items
  t.same(item.spec, { model: input.spec.model, training: input.spec.training })
  t.notOk('data' in item.spec)
  t.same(item.dataSummary, input.dataSummary)
  t.same((await storage.jobs.findById(id))?.spec, input.spec)
  const { spec: _listed, ...listedRest } = item
  const { spec: _full, ...fullRest } = (await storage.jobs.findById(id))!
  t.same(listedRest, fullRest, 'everything else is identical')
})

storageTest('list rejects cursors it did not issue and bad limits', async (t, storage) => {
  await createJobs(storage, 2)
  for (const cursor of ['', 'not a cursor', '!!!', encodeCursor(5) + 'x', Buffer.from('0').toString('base64url'), Buffer.from('-3').toString('base64url'), Buffer.from('1e3').toString('base64url'), Buffer.from('99999999999999999999').toString('base64url')]) {
    const err = (await rejection(storage.jobs.list({ limit: 10, cursor }))) as InvalidCursorError
    t.type(err, InvalidCursorError)
    t.equal(err.code, 'invalid_cursor')
  }
  t.equal(decodeCursor(encodeCursor(12345)), 12345)
  t.same((await storage.jobs.list({ limit: 10, cursor: encodeCursor(1) })).items, [], 'a valid cursor past the end is an empty page')
  await t.rejects(storage.jobs.list({ limit: 0 }), RangeError)
  await t.rejects(storage.jobs.list({ limit: 1.5 }), RangeError)
})

storageTest('findNewestSucceededByName picks the most recently created succeeded job of that name', async (t, storage) => {
  const [a, b, c, other] = await createJobs(storage, 4, (i) => ({ name: i === 3 ? 'other' : 'model' }))
  t.equal(await storage.jobs.findNewestSucceededByName('model'), undefined)
  for (let i = 0; i < 4; i++) await storage.jobs.claimNext('w', 1000, 10)
  await storage.jobs.finish(b, 'w', { status: 'succeeded' }, 20)
  await storage.jobs.finish(a, 'w', { status: 'succeeded' }, 30)
  await storage.jobs.finish(c, 'w', { status: 'failed', errorCode: 'nan_loss' }, 40)
  await storage.jobs.finish(other, 'w', { status: 'succeeded' }, 50)
  t.equal((await storage.jobs.findNewestSucceededByName('model'))?.id, b, 'b is newer than a; c failed; other has another name')
  t.equal(await storage.jobs.findNewestSucceededByName('nobody'), undefined)
})

storageTest('requestCancel: queued jobs end at once, running jobs are flagged, finished ones are untouched', async (t, storage) => {
  const [finished, running, queued] = await createJobs(storage, 3)
  t.equal((await storage.jobs.claimNext('w', 1000, 10))?.id, finished)
  await storage.jobs.finish(finished, 'w', { status: 'succeeded' }, 11)
  t.equal((await storage.jobs.claimNext('w', 1000, 12))?.id, running)

  const r = await storage.jobs.requestCancel(running, 20)
  t.equal(r?.status, 'running')
  t.equal(r?.cancelRequested, true)
  t.equal(r?.finishedAt, null)
  t.equal(await storage.jobs.isCancelRequested(running), true)

  const q = await storage.jobs.requestCancel(queued, 21)
  t.equal(q?.status, 'cancelled', 'a queued job is cancelled immediately')
  t.equal(q?.finishedAt, 21)
  t.equal(q?.updatedAt, 21)
  t.equal(await storage.jobs.claimNext('w', 1000, 22), undefined, 'and is never claimed')

  const f = await storage.jobs.requestCancel(finished, 23)
  t.equal(f?.status, 'succeeded')
  t.equal(f?.cancelRequested, false)
  t.equal(f?.updatedAt, 11, 'a finished job is not modified')
  t.equal(await storage.jobs.isCancelRequested(finished), false)

  t.equal(await storage.jobs.requestCancel('missing', 24), undefined)
  t.equal(await storage.jobs.isCancelRequested('missing'), false)
})

storageTest('delete removes only finished jobs: 409-style conflict while queued or running', async (t, storage) => {
  const [running, succeeded, failed, queued, cancelled] = await createJobs(storage, 5)
  t.equal((await storage.jobs.claimNext('w', 1000, 10))?.id, running)
  t.equal((await storage.jobs.claimNext('w', 1000, 10))?.id, succeeded)
  t.equal((await storage.jobs.claimNext('w', 1000, 10))?.id, failed)
  await storage.jobs.finish(succeeded, 'w', { status: 'succeeded' }, 11)
  await storage.jobs.finish(failed, 'w', { status: 'failed', errorCode: 'nan_loss' }, 11)
  await storage.jobs.requestCancel(cancelled, 12)

  t.equal(await storage.jobs.delete(running, 20), 'conflict', 'running, its lease live')
  t.equal(await storage.jobs.delete(queued, 20), 'conflict', 'queued')
  for (const id of [succeeded, failed, cancelled]) {
    t.equal(await storage.jobs.delete(id), 'deleted')
    t.equal(await storage.jobs.findById(id), undefined)
    t.equal(await storage.jobs.delete(id), 'not_found', 'twice')
  }
  t.equal((await storage.jobs.findById(running))?.status, 'running')
  t.equal((await storage.jobs.findById(queued))?.status, 'queued')
  t.equal(await storage.jobs.delete('never-existed'), 'not_found')
})

storageTest('countByStatus reports every status, zeros included', async (t, storage) => {
  t.same(await storage.jobs.countByStatus(), { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 })
  const ids = await createJobs(storage, 5)
  await storage.jobs.claimNext('w', 1000, 10)
  await storage.jobs.claimNext('w', 1000, 10)
  await storage.jobs.finish(ids[0], 'w', { status: 'failed' }, 11)
  await storage.jobs.requestCancel(ids[4], 12)
  t.same(await storage.jobs.countByStatus(), { queued: 2, running: 1, succeeded: 0, failed: 1, cancelled: 1 })
  t.equal(await storage.jobs.countQueued(), 2)
})
