import { join } from 'node:path'
import t from 'tap'
import { loadConfig, type Env } from '../../../src/config.js'
import { classesJob, seriesJob, textJob, tutorialJob } from '../../helpers/jobs.js'
import { startServer, type TapTest } from '../../helpers/server.js'
import { queryString as q, startService, tempDir } from '../../helpers/service.js'

/**
 * KServe V2 / Open Inference Protocol over HTTP against models trained by the real runner:
 * the shapes the protocol specifies (server and model metadata, health, infer requests and
 * responses), the same answers as /predict, and the protocol's error body on every error.
 */

const dir = tempDir(t)
const FILE = 'v2.db'
const trainer = await startService(t, { dir, file: FILE, workers: 2 })
const sineCosine = Array.from({ length: 96 }, (_, i) => [Math.sin((2 * Math.PI * i) / 8), Math.cos((2 * Math.PI * i) / 8)])
const submitted = [
  await trainer.submitOk(tutorialJob()),
  await trainer.submitOk(textJob()),
  await trainer.submitOk(classesJob()),
  await trainer.submitOk(seriesJob()),
  await trainer.submitOk(seriesJob({ name: 'pair-forecaster', data: { series: sineCosine, window: 8, horizon: 2 } })),
]
const trained: string[] = []
for (const job of submitted) trained.push((await trainer.waitForEnd(job.id, 60_000)).status)
const [greeter, poet, sorter, forecaster, pairForecaster] = submitted
const service = trainer

t.test('every model trained', async (t) => {
  t.same(trained, ['succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded'])
})

const infer = (name: string, body: unknown, path = `/v2/models/${name}/infer`) => service.postJson(path, body)

async function inferOk(t: TapTest, name: string, body: unknown, path?: string) {
  const response = await infer(name, body, path)
  const json = await response.json() as Record<string, unknown> & { outputs: { name: string; datatype: string; shape: number[]; data: unknown[] }[] }
  t.equal(response.status, 200, JSON.stringify(json).slice(0, 300))
  return json
}

/** The protocol's error body: exactly `error` (the message) and our `code`. */
async function v2Error(t: TapTest, response: Response, status: number, code: string) {
  t.equal(response.status, status, 'status')
  t.match(response.headers.get('content-type'), /application\/json/)
  const body = await response.json() as Record<string, unknown>
  t.same(Object.keys(body).sort(), ['code', 'error'], `only error and code: ${JSON.stringify(body)}`)
  t.equal(body.code, code)
  t.type(body.error, 'string')
  return body as { error: string; code: string }
}

t.test('server metadata, liveness and readiness', async (t) => {
  const meta = await (await service.fetch('/v2')).json()
  t.same(meta, { name: 'seqserve', version: '0.1.0', extensions: [] })
  t.same(await (await service.fetch('/v2/health/live')).json(), { live: true })
  const ready = await service.fetch('/v2/health/ready')
  t.equal(ready.status, 200)
  t.same(await ready.json(), { ready: true })
})

t.test('model metadata names the tensors with datatype and shape', async (t) => {
  t.same(await (await service.fetch('/v2/models/greeter')).json(), {
    name: 'greeter', versions: ['1'], platform: 'seqserve_pairs_rnn',
    inputs: [{ name: 'input', datatype: 'BYTES', shape: [-1] }], outputs: [{ name: 'output', datatype: 'BYTES', shape: [-1] }],
    parameters: { task: 'pairs' },
  })
  t.same(await (await service.fetch('/v2/models/sorter')).json(), {
    name: 'sorter', versions: ['1'], platform: 'seqserve_classes_rnn',
    inputs: [{ name: 'input', datatype: 'BYTES', shape: [-1] }],
    outputs: [{ name: 'label', datatype: 'BYTES', shape: [-1] }, { name: 'probabilities', datatype: 'FP64', shape: [-1, 2] }],
    parameters: { task: 'classes', labels: ['as', 'bs'] },
  })
  const series = await (await service.fetch('/v2/models/pair-forecaster')).json() as Record<string, unknown>
  t.same(series.inputs, [{ name: 'input', datatype: 'FP64', shape: [-1, -1, 2] }])
  t.same(series.outputs, [{ name: 'forecast', datatype: 'FP64', shape: [-1, 2, 2] }])
  t.equal(series.platform, 'seqserve_series_gru')
  t.same(await (await service.fetch(`/v2/models/greeter/versions/${greeter.id}`)).json(), await (await service.fetch('/v2/models/greeter')).json())
  t.same(await (await service.fetch('/v2/models/greeter/versions/1')).json(), await (await service.fetch('/v2/models/greeter')).json(), 'a registry version number')
  t.same(await (await service.fetch('/v2/models/greeter/ready')).json(), { name: 'greeter', ready: true })
  t.same(await (await service.fetch(`/v2/models/poet/versions/${poet.id}/ready`)).json(), { name: 'poet', ready: true })
})

t.test('infer: pairs and classes take BYTES rows and answer what /predict answers', async (t) => {
  const pairs = await inferOk(t, 'greeter', { id: 'req-7', inputs: [{ name: 'input', shape: [2], datatype: 'BYTES', data: ['hello', 'hell'] }] })
  t.same(pairs, { model_name: 'greeter', model_version: '1', id: 'req-7', outputs: [{ name: 'output', datatype: 'BYTES', shape: [2], data: ['elloh', 'ello'] }] })

  const classes = await inferOk(t, 'sorter', { inputs: [{ name: 'input', shape: [2, 1], datatype: 'BYTES', data: [['aaa'], ['bb']] }] })
  const viaPredict = await (await service.postJson('/predict', { model: 'sorter', inputs: ['aaa', 'bb'] })).json() as { predictions: { label: string; probabilities: Record<string, number> }[] }
  t.same(classes.outputs, [
    { name: 'label', datatype: 'BYTES', shape: [2], data: viaPredict.predictions.map((p) => p.label) },
    { name: 'probabilities', datatype: 'FP64', shape: [2, 2], data: viaPredict.predictions.flatMap((p) => [p.probabilities.as, p.probabilities.bs]) },
  ])
  t.same(classes.outputs[0]!.data, ['as', 'bs'])

  const onlyLabels = await inferOk(t, 'sorter', { inputs: [{ name: 'input', shape: [1], datatype: 'BYTES', data: ['b'] }], outputs: [{ name: 'label' }] })
  t.same(onlyLabels.outputs.map((o) => o.name), ['label'], 'outputs selects the tensors returned')
})

t.test('infer: text takes parameters and echoes the seed; row i uses seed + i', async (t) => {
  const body = { inputs: [{ name: 'input', shape: [2], datatype: 'BYTES', data: ['the', 'the'] }], parameters: { length: 12, temperature: 1, seed: 41 } }
  const text = await inferOk(t, 'poet', body)
  t.same(text.parameters, { seed: 41 })
  const [first, second] = text.outputs[0]!.data as string[]
  const predict = async (seed: number) => ((await (await service.fetch(`/predict?${q({ model: 'poet', input: 'the', length: 12, temperature: 1, seed })}`)).json()) as { output: string }).output
  t.equal(first, await predict(41))
  t.equal(second, await predict(42))
  const random = await inferOk(t, 'poet', { inputs: [{ name: 'input', shape: [1], datatype: 'BYTES', data: ['the'] }] })
  t.type((random.parameters as { seed: number }).seed, 'number', 'a random seed is reported')
  t.equal((random.outputs[0]!.data[0] as string).length, 100, 'the default length')
})

t.test('infer: series take FP32/FP64 [batch, steps, features], [steps] or [batch, steps]', async (t) => {
  const history = [1, 2, 3, 4, 5, 6, 7, 8]
  const viaPredict = await (await service.fetch(`/predict?${q({ model: 'forecaster', input: history.join(',') })}`)).json() as { output: number[] }
  const flat = await inferOk(t, 'forecaster', { inputs: [{ name: 'input', shape: [8], datatype: 'FP32', data: history }] })
  t.same(flat.outputs, [{ name: 'forecast', datatype: 'FP64', shape: [1, 3, 1], data: viaPredict.output }])
  const batch = await inferOk(t, 'forecaster', { inputs: [{ name: 'input', shape: [2, 4], datatype: 'FP64', data: [[1, 2, 3, 4], [5, 6, 7, 8]] }], parameters: { horizon: 2 } })
  t.same(batch.outputs[0]!.shape, [2, 2, 1])
  const rows = sineCosine.slice(0, 8)
  const multi = await inferOk(t, 'pair-forecaster', { inputs: [{ name: 'input', shape: [1, 8, 2], datatype: 'FP64', data: rows.flat() }] },
    `/v2/models/pair-forecaster/versions/${pairForecaster.id}/infer`)
  const viaPost = await (await service.postJson('/predict', { model: 'pair-forecaster', inputs: [rows] })).json() as { predictions: { output: number[][] }[] }
  t.same(multi.outputs, [{ name: 'forecast', datatype: 'FP64', shape: [1, 2, 2], data: viaPost.predictions[0]!.output.flat() }])
  t.equal(multi.model_version, '1', 'the registry version, also when asked by job id')
  t.ok(forecaster.id)
})

t.test('model names resolve through the registry: NAME@ALIAS and version numbers', async (t) => {
  const put = await service.fetch('/models/greeter/aliases/production', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ version: 1 }) })
  t.equal(put.status, 200)
  const viaAlias = await inferOk(t, 'greeter@production', { inputs: [{ name: 'input', shape: [1], datatype: 'BYTES', data: ['hello'] }] })
  t.same(viaAlias, { model_name: 'greeter', model_version: '1', outputs: [{ name: 'output', datatype: 'BYTES', shape: [1], data: ['elloh'] }] })
  t.same(await (await service.fetch('/v2/models/greeter@production/ready')).json(), { name: 'greeter', ready: true })
  await v2Error(t, await service.fetch('/v2/models/greeter@staging'), 404, 'alias_not_found')
  await v2Error(t, await service.fetch('/v2/models/greeter/versions/2'), 404, 'version_not_found')
  await v2Error(t, await infer('greeter', { inputs: [{ name: 'input', shape: [1], datatype: 'BYTES', data: ['hello'] }] }, '/v2/models/greeter/versions/2/infer'), 404, 'version_not_found')
  t.equal((await service.fetch('/models/greeter/aliases/production', { method: 'DELETE' })).status, 204)
})

t.test('errors use the protocol body with our code', async (t) => {
  const bytes = (data: unknown[], shape = [data.length]) => ({ inputs: [{ name: 'input', shape, datatype: 'BYTES', data }] })
  await v2Error(t, await infer('nobody', bytes(['a'])), 404, 'model_not_found')
  await v2Error(t, await service.fetch('/v2/models/nobody'), 404, 'model_not_found')
  await v2Error(t, await service.fetch(`/v2/models/poet/versions/${greeter.id}`), 404, 'model_not_found')
  await v2Error(t, await service.fetch('/v2/no/such/route'), 404, 'not_found')
  const missing = await v2Error(t, await infer('greeter', {}), 400, 'validation_failed')
  t.match(missing.error, /inputs/)
  await v2Error(t, await infer('greeter', { ...bytes(['a']), extra: 1 }), 400, 'unknown_field')
  await v2Error(t, await infer('greeter', '{"inputs": ['), 400, 'invalid_json')
  const unknown = await v2Error(t, await infer('greeter', bytes(['xyz'])), 400, 'unknown_characters')
  t.match(unknown.error, /"x"/)
  t.match((await v2Error(t, await infer('greeter', bytes(['a', 'b'], [3])), 400, 'invalid_input')).error, /shape \[3\] holds 3 values but data has 2/)
  t.match((await v2Error(t, await infer('greeter', { inputs: [{ name: 'input', shape: [1], datatype: 'FP32', data: [1] }] }), 400, 'invalid_input')).error, /BYTES/)
  t.match((await v2Error(t, await infer('forecaster', bytes(['1,2'])), 400, 'invalid_input')).error, /FP32 or FP64/)
  t.match((await v2Error(t, await infer('greeter', { inputs: [{ name: 'x', shape: [1], datatype: 'BYTES', data: ['h'] }] }), 400, 'invalid_input')).error, /named "input"/)
  t.match((await v2Error(t, await infer('greeter', { ...bytes(['h']), outputs: [{ name: 'logits' }] }), 400, 'invalid_input')).error, /unknown output "logits"/)
  const costly = await v2Error(t, await infer('poet', { ...bytes(Array(200).fill('the')), parameters: { length: 2000 } }), 400, 'predict_too_costly')
  t.match(costly.error, /PREDICT_MAX_COST/)
})

t.test('auth and rate limits answer in the protocol shape; health stays open', async (t) => {
  const key = 'pr3d1ct-0123456789abcdef01234567'
  const env: Env = { DATABASE_PATH: join(dir, FILE), LOG_LEVEL: 'silent', WORKERS: '1', PREDICT_WORKERS: '1', MAX_EVENT_LOOP_DELAY_MS: '0', API_KEYS: JSON.stringify({ [key]: ['predict'] }), RATE_LIMIT_PREDICT_PER_MINUTE: '1' }
  const server = await startServer(t, { config: loadConfig(env) })
  await v2Error(t, await server.fetch('/v2/models/greeter'), 401, 'unauthorized')
  for (const path of ['/v2', '/v2/health/live']) t.equal((await server.fetch(path)).status, 200, `${path} needs no key`)
  // This server's job runner is not started: not ready, but answered without a key.
  const ready = await server.fetch('/v2/health/ready')
  t.equal(ready.status, 503, '/v2/health/ready needs no key')
  t.same(await ready.json(), { ready: false })
  const auth = { authorization: `Bearer ${key}` }
  const body = { inputs: [{ name: 'input', shape: [1], datatype: 'BYTES', data: ['hello'] }] }
  t.equal((await server.postJson('/v2/models/greeter/infer', body, auth)).status, 200)
  const limited = await server.postJson('/v2/models/greeter/infer', body, auth)
  t.ok(limited.headers.get('retry-after'), 'Retry-After')
  await v2Error(t, limited, 429, 'rate_limited')
})

t.test('TRUST_PROXY: per-address predict limits count the forwarded client address', async (t) => {
  const env: Env = { DATABASE_PATH: join(dir, FILE), LOG_LEVEL: 'silent', WORKERS: '1', PREDICT_WORKERS: '1', MAX_EVENT_LOOP_DELAY_MS: '0', RATE_LIMIT_PREDICT_PER_MINUTE: '1', TRUST_PROXY: 'true' }
  const server = await startServer(t, { config: loadConfig(env) })
  const from = (address: string) => server.fetch(`/predict?${q({ model: 'greeter', input: 'hello' })}`, { headers: { 'x-forwarded-for': address } })
  t.equal((await from('203.0.113.1')).status, 200)
  t.equal((await from('203.0.113.2')).status, 200, 'another client behind the same proxy has its own budget')
  t.equal((await from('203.0.113.1')).status, 429, 'the first client is over its budget')
})

t.test('predictions are not rate limited by default', async (t) => {
  const statuses = await Promise.all(Array.from({ length: 30 }, () => service.fetch(`/predict?${q({ model: 'greeter', input: 'hello' })}`).then((r) => r.status)))
  t.same([...new Set(statuses)], [200])
})
