import t from 'tap'
import { testConfig } from '../helpers/config.js'
import { JobsClient } from '../helpers/jobs-client.js'
import { MODEL_DEFAULTS, TRAINING_DEFAULTS, type JobRequest } from '../helpers/job-specs.js'
import { readError, startServer } from '../helpers/server.js'
import { sample } from '../helpers/metrics.js'

/**
 * The registry over a real server: succeeded jobs of a name are its versions in order of
 * completion, aliases switch and roll back, predictions say which version served, imports
 * become versions, and nothing an alias serves from can be deleted.
 */
const server = await startServer(t, { training: true, config: testConfig({ maxEventLoopDelayMs: 0 }) })
const client = new JobsClient(server.baseUrl)

const greeter = (seed: number, hidden: number): JobRequest => ({
  name: 'greeter',
  model: { ...MODEL_DEFAULTS, hidden_size: hidden },
  data: { type: 'pairs', pairs: [{ input: 'hello', target: 'elloh' }, { input: 'world', target: 'dlrow' }] },
  training: { ...TRAINING_DEFAULTS, epochs: 60, learning_rate: 0.05, seed },
})

async function json<T = any>(path: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const response = await server.fetch(path, init)
  return { status: response.status, body: (await response.json()) as T }
}
const put = (path: string, body: unknown) => json(path, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

// One after the other, so completion order is submission order.
const jobs: string[] = []
for (const [seed, hidden] of [[1, 6], [2, 7]]) {
  const job = await client.submit(greeter(seed, hidden))
  await client.waitForFinished([job.id])
  jobs.push(job.id)
}

t.test('succeeded jobs of a name are its versions 1, 2 in order of completion', async (t) => {
  const list = await json('/models')
  t.equal(list.status, 200)
  const model = list.body.items.find((m: any) => m.name === 'greeter')
  t.match(model, { name: 'greeter', latest_version: 2, aliases: {} })
  t.same(model.versions.map((v: any) => [v.version, v.job, v.source]), [[1, jobs[0], 'job'], [2, jobs[1], 'job']])
  t.same((await json('/models/greeter')).body, model)
  t.match((await json('/models/greeter/versions/1')).body, { name: 'greeter', version: 1, job: jobs[0], aliases: [] })
  const card = (await json('/models/greeter/versions/1/model')).body
  t.same(card, (await json(`/jobs/${jobs[0]}/model`)).body, 'a version has its job\'s card')
  const fromVersion = Buffer.from(await (await server.fetch('/models/greeter/versions/1/weights?format=safetensors')).arrayBuffer())
  const fromJob = Buffer.from(await (await server.fetch(`/jobs/${jobs[0]}/weights?format=safetensors`)).arrayBuffer())
  t.ok(fromVersion.length > 0 && fromVersion.equals(fromJob), 'and its weights')
})

t.test('predict by name, name@alias and version, and every response names what served', async (t) => {
  const latest = await json('/predict?model=greeter&input=hello')
  t.match(latest.body, { job: jobs[1], model: 'greeter', version: 2, alias: null })
  const pinned = await json('/predict?model=greeter&version=1&input=hello')
  t.match(pinned.body, { job: jobs[0], model: 'greeter', version: 1, alias: null })
  const byJob = await json(`/predict?job=${jobs[0]}&input=hello`)
  t.match(byJob.body, { job: jobs[0], model: 'greeter', version: 1, alias: null }, 'job= predictions name their version too')
  t.same((await put('/models/greeter/aliases/production', { version: 1 })).body, { name: 'greeter', alias: 'production', version: 1 })
  t.match((await json('/predict?model=greeter@production&input=hello')).body, { job: jobs[0], version: 1, alias: 'production' })
  const batch = await json('/predict', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'greeter@production', inputs: ['hello', 'world'] }) })
  t.match(batch.body, { job: jobs[0], version: 1, alias: 'production' })
  t.equal(batch.body.predictions.length, 2)
  t.same((await json('/models/greeter')).body.aliases, { production: 1 })
})

t.test('unknown names, versions and aliases are 404s that say what exists', async (t) => {
  await readError(t, await server.fetch('/predict?model=nobody&input=a'), { statusCode: 404, code: 'model_not_found', error: 'Not Found' })
  const v = await readError(t, await server.fetch('/predict?model=greeter&version=9&input=hello'), { statusCode: 404, code: 'version_not_found', error: 'Not Found' })
  t.match(v.message, /versions: 1, 2/)
  const a = await readError(t, await server.fetch('/predict?model=greeter@staging&input=hello'), { statusCode: 404, code: 'alias_not_found', error: 'Not Found' })
  t.match(a.message, /aliases: production/)
  await readError(t, await server.fetch('/predict?model=greeter@production&version=1&input=hello'), { statusCode: 400, code: 'validation_failed', error: 'Bad Request' })
  await readError(t, await server.fetch(`/predict?job=${jobs[0]}&version=1&input=hello`), { statusCode: 400, code: 'validation_failed', error: 'Bad Request' })
  await readError(t, await server.fetch('/models/nobody'), { statusCode: 404, code: 'model_not_found', error: 'Not Found' })
  await readError(t, await put('/models/greeter/aliases/production', { version: 7 }).then(() => server.fetch('/models/greeter/versions/7')), { statusCode: 404, code: 'version_not_found', error: 'Not Found' })
  const badAlias = await server.fetch('/models/greeter/aliases/production', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ version: 7 }) })
  await readError(t, badAlias, { statusCode: 404, code: 'version_not_found', error: 'Not Found' })
  t.same((await json('/models/greeter')).body.aliases, { production: 1 }, 'a failed PUT leaves the alias where it was')
  await readError(t, await server.fetch('/models/greeter/aliases/nope', { method: 'DELETE' }), { statusCode: 404, code: 'alias_not_found', error: 'Not Found' })
})

t.test('alias switch and rollback under load: every request is served, by one of the two versions', async (t) => {
  let stop = false
  const seen = new Map<number, number>()
  const failures: string[] = []
  const clients = Array.from({ length: 4 }, async () => {
    while (!stop) {
      const r = await server.fetch('/predict?model=greeter@production&input=hello')
      const body = (await r.json()) as any
      if (r.status !== 200) failures.push(`${r.status} ${JSON.stringify(body)}`)
      else seen.set(body.version, (seen.get(body.version) ?? 0) + 1)
    }
  })
  for (let i = 0; i < 40; i++) {
    const r = await put('/models/greeter/aliases/production', { version: i % 2 === 0 ? 2 : 1 })
    if (r.status !== 200) failures.push(`PUT ${r.status}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  stop = true
  await Promise.all(clients)
  t.same(failures, [], 'no request failed')
  t.same([...seen.keys()].sort(), [1, 2], `both versions served (${JSON.stringify([...seen])})`)
  t.equal((await json('/models/greeter')).body.aliases.production, 1, 'the last PUT (rollback to 1) holds')
})

t.test('a job an alias serves from cannot be deleted; after the alias moves it can', async (t) => {
  const blocked = await readError(t, await server.fetch(`/jobs/${jobs[0]}`, { method: 'DELETE' }), { statusCode: 409, code: 'version_aliased', error: 'Conflict' })
  t.match(blocked.message, /greeter@production/)
  t.equal((await put('/models/greeter/aliases/production', { version: 2 })).status, 200)
  t.equal((await server.fetch(`/jobs/${jobs[0]}`, { method: 'DELETE' })).status, 204)
  const model = (await json('/models/greeter')).body
  t.same(model.versions.map((v: any) => v.version), [2], 'its version went with it')
  t.equal(model.latest_version, 2)
})

t.test('imports become versions that serve what the exported model served', async (t) => {
  const card = (await json(`/jobs/${jobs[1]}/model`)).body
  const stateDict = (await json(`/jobs/${jobs[1]}/weights`)).body
  const imported = await json('/models/greeter/versions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ card, state_dict: stateDict }) })
  t.equal(imported.status, 201, JSON.stringify(imported.body))
  t.match(imported.body, { name: 'greeter', version: 3, source: 'import' }, 'numbers are never reused: 3, not 2 or 1')
  const file = new Uint8Array(await (await server.fetch(`/jobs/${jobs[1]}/weights?format=safetensors`)).arrayBuffer())
  const fromFile = await json('/models/greeter/versions', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: file })
  t.equal(fromFile.status, 201, JSON.stringify(fromFile.body))
  t.match(fromFile.body, { version: 4, source: 'import' })
  for (const input of ['hello', 'world', 'dlrow', 'owl']) {
    const want = (await json(`/predict?model=greeter&version=2&input=${input}`)).body.output
    t.equal((await json(`/predict?model=greeter&version=3&input=${input}`)).body.output, want, `v3 (JSON import) maps ${input} as v2`)
    t.equal((await json(`/predict?model=greeter&input=${input}`)).body.output, want, `v4 (safetensors import) maps ${input} as v2`)
  }
  const importedCard = (await json('/models/greeter/versions/4/model')).body
  t.same(importedCard.vocabulary.tokens, card.vocabulary.tokens)
  t.same(importedCard.architecture.rnn, card.architecture.rnn)
  t.equal(importedCard.weights.tensors_sha256, card.weights.tensors_sha256, 'the same tensors, bit for bit')
  t.match(importedCard.source, { kind: 'import' })
})

t.test('import errors name the tensor or field', async (t) => {
  const card = (await json(`/jobs/${jobs[1]}/model`)).body
  const stateDict = (await json(`/jobs/${jobs[1]}/weights`)).body
  const post = (body: unknown) => server.fetch('/models/other/versions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const wrong = await readError(t, await post({ card, state_dict: { ...stateDict, 'rnn.weight_hh_l0': { shape: [2, 2], data: [0, 0, 0, 0] } } }), { statusCode: 400, code: 'invalid_model', error: 'Bad Request' })
  t.match(wrong.message, /rnn\.weight_hh_l0 has shape \[2,2\]/)
  t.same(wrong.details, { tensor: 'rnn.weight_hh_l0' })
  const garbage = await readError(t, await server.fetch('/models/other/versions', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: new Uint8Array([1, 2, 3]) }), { statusCode: 400, code: 'invalid_model', error: 'Bad Request' })
  t.match(garbage.message, /8-byte header length/)
  await readError(t, await post({ card }), { statusCode: 400, code: 'validation_failed', error: 'Bad Request' })
  await readError(t, await server.fetch('/models/other'), { statusCode: 404, code: 'model_not_found', error: 'Not Found' })
})

t.test('only imported versions are deleted by version, and not while aliased', async (t) => {
  await readError(t, await server.fetch('/models/greeter/versions/2', { method: 'DELETE' }), { statusCode: 409, code: 'version_not_imported', error: 'Conflict' })
  t.equal((await put('/models/greeter/aliases/production', { version: 3 })).status, 200)
  await readError(t, await server.fetch('/models/greeter/versions/3', { method: 'DELETE' }), { statusCode: 409, code: 'version_aliased', error: 'Conflict' })
  t.equal((await server.fetch('/models/greeter/aliases/production', { method: 'DELETE' })).status, 204)
  t.equal((await server.fetch('/models/greeter/versions/3', { method: 'DELETE' })).status, 204)
  t.same((await json('/models/greeter')).body.versions.map((v: any) => v.version), [2, 4])
  await readError(t, await server.fetch('/predict?model=greeter&version=3&input=hello'), { statusCode: 404, code: 'version_not_found', error: 'Not Found' })
})

t.test('metrics count model versions and model-route requests', async (t) => {
  const text = await (await server.fetch('/metrics')).text()
  t.equal(sample(text, 'seqserve_model_versions', 'source="import"'), 1, 'greeter v4 is the one import left')
  t.equal(sample(text, 'seqserve_model_versions', 'source="job"'), 1, 'greeter v2 (v1 went with its job)')
  t.equal(sample(text, 'seqserve_model_requests_total', 'route="POST /models/:name/versions",status_code="201"'), 2)
  t.ok(sample(text, 'seqserve_model_requests_total', 'route="PUT /models/:name/aliases/:alias",status_code="200"')! >= 40, 'alias switches')
  t.ok(sample(text, 'seqserve_model_requests_total', 'route="GET /jobs/:id/model",status_code="200"')! >= 1, 'cards')
})

t.test('the import route takes bodies beyond MAX_BODY_BYTES (up to the largest model the limits accept); other routes do not', async (t) => {
  const { stateTensors } = await import('../../src/models/artifacts.js')
  const { encodeSafetensors } = await import('../../src/models/formats/safetensors.js')
  const { modelFromCard } = await import('../../src/models/import.js')
  const card = { task: 'pairs', architecture: { rnn: { class: 'LSTM', kwargs: { input_size: 2, hidden_size: 400, num_layers: 2 } } }, vocabulary: { tokens: ['a', 'b'] } }
  const { model } = modelFromCard(card, server.app.config.limits)
  const params = new Float64Array(stateTensors(model, new Float64Array(0)).reduce((n, x) => n + x.shape.reduce((a, b) => a * b, 1), 0)).map((_, i) => Math.sin(i) * 0.01)
  const file = encodeSafetensors(stateTensors(model, params), { card: JSON.stringify(card) })
  t.ok(file.byteLength > server.app.config.limits.maxBodyBytes, `${(file.byteLength / 2 ** 20).toFixed(1)} MiB > MAX_BODY_BYTES`)
  const imported = await json('/models/big/versions', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: file })
  t.equal(imported.status, 201, JSON.stringify(imported.body).slice(0, 200))
  t.equal((await json('/predict?model=big&input=abba')).body.output.length, 4, 'the big model serves')
  const elsewhere = await server.fetch('/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pad: 'x'.repeat(file.byteLength) }) })
  t.equal(elsewhere.status, 413, 'POST /jobs keeps MAX_BODY_BYTES')
})

t.test('deleting versions while aliases are pointed at them, concurrently: a clean 204/404 or 200/409, never a 500', async (t) => {
  const card = (await json(`/jobs/${jobs[1]}/model`)).body
  const stateDict = (await json(`/jobs/${jobs[1]}/weights`)).body
  const statuses = new Map<string, number>()
  for (let i = 0; i < 12; i++) {
    const imported = await json('/models/racer/versions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ card, state_dict: stateDict }) })
    const v = imported.body.version
    // Either request is sent first, in turn.
    const del = () => server.fetch(`/models/racer/versions/${v}`, { method: 'DELETE' })
    const set = () => put(`/models/racer/aliases/a${i}`, { version: v })
    const [deleted, aliased] = i % 2 === 0 ? await Promise.all([del(), set()]) : (await Promise.all([set(), del()])).reverse() as [Response, { status: number }]
    const key = `${deleted.status}/${aliased.status}`
    statuses.set(key, (statuses.get(key) ?? 0) + 1)
    t.ok(key === '204/404' || key === '409/200', `round ${i}: DELETE ${deleted.status}, PUT ${aliased.status}`)
    if (deleted.status === 409) t.match(await deleted.json(), { code: 'version_aliased' })
    else await deleted.arrayBuffer()
    const exists = (await server.fetch(`/models/racer/versions/${v}`)).status
    t.equal(exists, deleted.status === 204 ? 404 : 200, `round ${i}: the version ${deleted.status === 204 ? 'is gone' : 'stays'}`)
  }
  t.comment(`outcomes: ${JSON.stringify([...statuses])}`)
})
