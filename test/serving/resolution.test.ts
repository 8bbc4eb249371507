import t from 'tap'
import { ResolutionCache } from '../../src/serving/resolution-cache.js'
import { tutorialJob } from '../helpers/jobs.js'
import { startService, tempDir } from '../helpers/service.js'

/**
 * Serving reuses what a model selector resolved to (ResolutionCache), so a change must make
 * it look again: in this process at once (a version trained or imported, an alias moved or
 * deleted, a job deleted), from another process on the same database within
 * PREDICT_RESOLVE_TTL_MS.
 */

const dir = tempDir(t)
// An hour: only invalidation, never expiry, can make this process see its own changes.
const service = await startService(t, { dir, file: 'models.db', workers: 1, serving: { resolveTtlMs: 3_600_000 } })

t.test('the cache keeps results, forgets them on clear(), and never stores a lookup that straddled a clear', async (t) => {
  const cache = new ResolutionCache<string>(60_000, 2)
  let generation = cache.begin()
  cache.set('a', 'v1', generation)
  t.equal(cache.get('a'), 'v1')
  cache.clear()
  t.equal(cache.get('a'), undefined, 'cleared')

  generation = cache.begin()
  cache.clear()
  cache.set('a', 'stale', generation)
  t.equal(cache.get('a'), undefined, 'a lookup begun before the clear is not kept')

  generation = cache.begin()
  for (const key of ['a', 'b', 'c']) cache.set(key, key, generation)
  t.equal(cache.get('a'), undefined, 'bounded: the oldest entry went')
  t.equal(cache.get('c'), 'c')

  const off = new ResolutionCache<string>(0)
  off.set('a', 'v1', off.begin())
  t.equal(off.get('a'), undefined, 'a TTL of 0 keeps nothing')
})


async function predict(server: { fetch(path: string): Promise<Response> }, model: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await server.fetch(`/predict?model=${encodeURIComponent(model)}&input=hello`)
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}
const put = (path: string, body: unknown) => service.fetch(path, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

t.test('changes made in this process are served by the very next request', async (t) => {
  const first = await service.submitOk(tutorialJob({ name: 'resolved', training: { epochs: 20 } }))
  t.equal((await service.waitForEnd(first.id, 120_000)).status, 'succeeded')
  t.match((await predict(service, 'resolved')).body, { job: first.id, version: 1 }, 'NAME is version 1')

  const second = await service.submitOk(tutorialJob({ name: 'resolved', training: { epochs: 20, seed: 1 } }))
  t.equal((await service.waitForEnd(second.id, 120_000)).status, 'succeeded')
  t.match((await predict(service, 'resolved')).body, { job: second.id, version: 2 }, 'a version trained here: NAME is version 2 at once')

  t.equal((await put('/models/resolved/aliases/production', { version: 1 })).status, 200)
  t.match((await predict(service, 'resolved@production')).body, { job: first.id, version: 1, alias: 'production' })
  t.equal((await put('/models/resolved/aliases/production', { version: 2 })).status, 200)
  t.match((await predict(service, 'resolved@production')).body, { job: second.id, version: 2 }, 'an alias moved: the next request follows it')
  t.equal((await service.fetch('/models/resolved/aliases/production', { method: 'DELETE' })).status, 204)
  t.match((await predict(service, 'resolved@production')), { status: 404, body: { code: 'alias_not_found' } }, 'an alias deleted: 404 at once')

  const card = await (await service.fetch(`/jobs/${first.id}/model`)).json()
  const weights = await (await service.fetch(`/jobs/${first.id}/weights`)).json()
  const imported = await service.fetch('/models/resolved/versions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ card, state_dict: weights }) })
  t.equal(imported.status, 201)
  t.match((await predict(service, 'resolved')).body, { version: 3 }, 'a version imported: NAME is version 3 at once')

  t.equal((await service.fetch(`/jobs/${second.id}`, { method: 'DELETE' })).status, 204)
  t.match(await predict(service, `resolved`), { status: 200, body: { version: 3 } })
  const gone = await service.fetch(`/predict?job=${second.id}&input=hello`)
  t.equal(gone.status, 404, 'a deleted job is not served from the cache')
  await gone.arrayBuffer()
})

t.test('another process on the same database sees an alias move within PREDICT_RESOLVE_TTL_MS', async (t) => {
  const other = await startService(t, { dir, file: 'models.db', workers: 1, training: false, serving: { resolveTtlMs: 200 } })
  t.equal((await put('/models/resolved/aliases/staging', { version: 1 })).status, 200)
  t.match((await predict(other, 'resolved@staging')).body, { version: 1 })
  t.equal((await put('/models/resolved/aliases/staging', { version: 3 })).status, 200)
  let served: unknown
  for (let i = 0; i < 200 && served !== 3; i++) {
    served = (await predict(other, 'resolved@staging')).body.version
    if (served !== 3) await new Promise((resolve) => setTimeout(resolve, 50))
  }
  t.equal(served, 3, 'the other process follows the alias once its entry expires')
})
