/**
 * The model registry's store, on SQLite and on PostgreSQL: versions are numbered by the
 * database as jobs succeed (imports included), never reused; aliases point at versions.
 */
import { leaseOwner } from '../../src/storage/types.js'
import { createJobs, newJob, storageTest } from './helpers.js'

const OWNER = leaseOwner('node-a', 'inc-1')

storageTest('succeeded jobs and imports become versions 1, 2, ... of their name, in order of completion', async (t, storage) => {
  const [first, second] = await createJobs(storage, 2, () => ({ name: 'greeter' }))
  const [other] = await createJobs(storage, 1, () => ({ name: 'other' }))
  t.equal(await storage.models.latest('greeter'), undefined, 'no version before a job succeeds')
  // Claimed oldest first; the second job finishes first, so it is version 1.
  t.equal((await storage.jobs.claimNext(OWNER, 60_000, 10))?.id, first)
  t.equal((await storage.jobs.claimNext(OWNER, 60_000, 11))?.id, second)
  await storage.finishJob(second, OWNER, { status: 'succeeded' }, 20)
  await storage.finishJob(first, OWNER, { status: 'succeeded' }, 30)
  t.match(await storage.models.versionOfJob(second), { name: 'greeter', version: 1, jobId: second, source: 'job' })
  t.match(await storage.models.versionOfJob(first), { name: 'greeter', version: 2, jobId: first, source: 'job' })
  t.equal(await storage.models.versionOfJob(other), undefined, 'a queued job is no version')

  const imported = await storage.models.insertImported(newJob({ name: 'greeter', dataSummary: { type: 'import' } }), { epoch: 0, isFinal: true, format: 1, blob: Buffer.from('weights') }, 40)
  t.match(imported, { name: 'greeter', version: 3, source: 'import' })
  t.equal((await storage.checkpoints.final(imported.jobId))?.blob.toString(), 'weights', 'the import holds its weights as a final checkpoint')
  t.equal((await storage.models.latest('greeter'))?.version, 3)

  t.equal(await storage.jobs.delete(imported.jobId), 'deleted')
  const again = await storage.models.insertImported(newJob({ name: 'greeter', dataSummary: { type: 'import' } }), { epoch: 0, isFinal: true, format: 1, blob: Buffer.from('w2') }, 50)
  t.equal(again.version, 4, 'a deleted version number is never given again')
  t.same((await storage.models.get('greeter'))?.versions.map((v) => v.version), [1, 2, 4])
  t.same((await storage.models.list()).map((m) => m.name), ['greeter'], 'names with at least one version')
})

storageTest('aliases point at existing versions, move, resolve and go', async (t, storage) => {
  const blob = { epoch: 0, isFinal: true, format: 1, blob: Buffer.from('w') }
  const v1 = await storage.models.insertImported(newJob({ name: 'm', dataSummary: { type: 'import' } }), blob, 1)
  const v2 = await storage.models.insertImported(newJob({ name: 'm', dataSummary: { type: 'import' } }), blob, 2)
  t.equal(await storage.models.setAlias('m', 'production', 9, 3), false, 'no alias to a missing version')
  t.equal(await storage.models.setAlias('m', 'production', 1, 3), true)
  t.equal((await storage.models.resolveAlias('m', 'production'))?.jobId, v1.jobId)
  t.equal(await storage.models.setAlias('m', 'production', 2, 4), true, 'an alias moves')
  t.equal((await storage.models.resolveAlias('m', 'production'))?.jobId, v2.jobId)
  t.same(await storage.models.aliasesOfJob(v2.jobId), [{ name: 'm', alias: 'production', version: 2 }])
  t.same(await storage.models.aliasesOfJob(v1.jobId), [])
  t.same((await storage.models.get('m'))?.aliases, { production: 2 })
  t.equal(await storage.models.deleteAlias('m', 'production'), true)
  t.equal(await storage.models.deleteAlias('m', 'production'), false, 'deleting it twice says so')
  t.equal(await storage.models.resolveAlias('m', 'production'), undefined)
})

storageTest('an alias set on a version blocks deleting its job inside the delete transaction, never with a constraint error', async (t, storage) => {
  const blob = { epoch: 0, isFinal: true, format: 1, blob: Buffer.from('w') }
  const v = await storage.models.insertImported(newJob({ name: 'm', dataSummary: { type: 'import' } }), blob, 1)
  t.equal(await storage.models.setAlias('m', 'production', v.version, 2), true)
  // The caller's earlier look found no alias; the delete itself must still refuse.
  t.equal(await storage.jobs.delete(v.jobId), 'aliased')
  t.equal((await storage.models.resolveAlias('m', 'production'))?.jobId, v.jobId, 'the alias and its version stay')
  t.equal(await storage.models.deleteAlias('m', 'production'), true)
  t.equal(await storage.jobs.delete(v.jobId), 'deleted')
  t.equal(await storage.models.setAlias('m', 'production', v.version, 3), false, 'an alias to the deleted version is refused')
})

storageTest('deleting a version while an alias is set on it (or moved to it), concurrently: one wins cleanly', async (t, storage) => {
  const blob = { epoch: 0, isFinal: true, format: 1, blob: Buffer.from('w') }
  const base = await storage.models.insertImported(newJob({ name: 'race', dataSummary: { type: 'import' } }), blob, 1)
  const outcomes = new Map<string, number>()
  for (let i = 0; i < 25; i++) {
    const v = await storage.models.insertImported(newJob({ name: 'race', dataSummary: { type: 'import' } }), blob, 10 + i)
    // Half the rounds set a new alias, half move an existing one from the base version.
    const alias = i % 2 === 0 ? `new${i}` : `moved${i}`
    if (i % 2 === 1) await storage.models.setAlias('race', alias, base.version, 10 + i)
    const [deleted, aliased] = await Promise.allSettled([storage.jobs.delete(v.jobId), storage.models.setAlias('race', alias, v.version, 20 + i)])
    if (deleted.status === 'rejected' || aliased.status === 'rejected') {
      t.fail(`round ${i}: ${deleted.status === 'rejected' ? deleted.reason : ''} ${aliased.status === 'rejected' ? aliased.reason : ''}`)
      continue
    }
    const key = `${deleted.value}/${aliased.value}`
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1)
    const target = await storage.models.resolveAlias('race', alias)
    if (deleted.value === 'deleted') {
      t.equal(aliased.value, false, `round ${i}: the version went first, the alias was refused`)
      t.equal(await storage.models.version('race', v.version), undefined)
      t.equal(target?.version, i % 2 === 1 ? base.version : undefined, `round ${i}: the alias is where it was`)
    } else {
      t.same([deleted.value, aliased.value], ['aliased', true], `round ${i}: the alias went first, the delete was refused`)
      t.equal(target?.jobId, v.jobId)
    }
  }
  t.ok(outcomes.size >= 1, `outcomes: ${JSON.stringify([...outcomes])}`)
})
