import { createHash } from 'node:crypto'
import t from 'tap'
import { JobsClient } from '../helpers/jobs-client.js'
import { MODEL_DEFAULTS, TRAINING_DEFAULTS, type JobRequest } from '../helpers/job-specs.js'
import { testConfig } from '../helpers/config.js'
import { readError, startServer } from '../helpers/server.js'
import { type Card, RebuiltModel, parseSafetensors } from './card-rebuild.js'

/**
 * The model card is enough to rebuild a model outside seqserve: a real server trains one job
 * per task, and an independent implementation of the PyTorch modules (test/models/
 * torch-reference.ts) loads the safetensors export by the card's description alone and
 * predicts what GET /predict answers.
 */
// Load shedding is not under test here: the machine is shared and training starts several threads.
const server = await startServer(t, { training: true, config: testConfig({ maxEventLoopDelayMs: 0, workers: 2 }) })
const client = new JobsClient(server.baseUrl)

const job = (name: string, model: Partial<JobRequest['model']>, data: JobRequest['data'], training: Partial<JobRequest['training']> = {}): JobRequest => ({
  name, model: { ...MODEL_DEFAULTS, hidden_size: 6, ...model }, data, training: { ...TRAINING_DEFAULTS, epochs: 15, learning_rate: 0.05, ...training },
})

// 😀 (U+1F600) sorts before ﬁ (U+FB01) in UTF-16 order but after it by code point.
const JOBS = [
  job('mapper', { type: 'rnn', num_layers: 2 }, { type: 'pairs', pairs: [{ input: 'abﬁ😀', target: 'b😀aﬁ' }, { input: 'ba', target: 'ab' }] }),
  job('writer', { type: 'lstm', num_layers: 2, bidirectional: true }, { type: 'text', text: 'the cat sat on the mat; the dog sat on the log. '.repeat(3), seq_len: 12 }, { validation_split: 0.2 }),
  // float64 (the reference precision): its card reproduces the service to 1e-12.
  job('sorter', { type: 'gru', bidirectional: true, dtype: 'float64' }, { type: 'classes', examples: [{ input: 'aab', label: 'a' }, { input: 'bba', label: 'b' }, { input: 'ccc', label: 'c' }, { input: 'abc', label: 'a' }] }),
  job('waves', { type: 'lstm', num_layers: 2, bidirectional: true }, { type: 'series', series: Array.from({ length: 40 }, (_, i) => [Math.sin(i / 3) * 5 + 10, Math.cos(i / 4) - 3]), window: 6, horizon: 3 }),
  job('projected', { type: 'lstm', hidden_size: 6, proj_size: 3 }, { type: 'pairs', pairs: [{ input: 'hello', target: 'elloh' }] }),
]

const submitted = await Promise.all(JOBS.map((j) => client.submit(j)))
const finished = await client.waitForFinished(submitted.map((j) => j.id), 120_000)

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the card is read as a client reads JSON
type AnyCard = Card & Record<string, any> & { architecture: Record<string, any> }

async function fetchModel(id: string): Promise<{ card: AnyCard; file: Uint8Array }> {
  const cardResponse = await server.fetch(`/jobs/${id}/model`)
  const fileResponse = await server.fetch(`/jobs/${id}/weights?format=safetensors`)
  if (cardResponse.status !== 200 || fileResponse.status !== 200) throw new Error(`card ${cardResponse.status}, weights ${fileResponse.status}`)
  return { card: (await cardResponse.json()) as AnyCard, file: new Uint8Array(await fileResponse.arrayBuffer()) }
}

async function predict(query: Record<string, string | number>): Promise<Record<string, any>> {
  const response = await server.fetch(`/predict?${new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]))}`)
  const body = (await response.json()) as Record<string, any>
  if (response.status !== 200) throw new Error(`predict ${response.status}: ${JSON.stringify(body)}`)
  return body
}

t.test('every job trained', async (t) => {
  for (const j of finished) t.equal(j.status, 'succeeded', `${j.name}: ${JSON.stringify(j.error)}`)
})

const byName = new Map(finished.map((j) => [j.name, j.id]))

t.test('the safetensors file is standard, checksummed by the card, and carries the card', async (t) => {
  for (const [name, id] of byName) {
    const { card, file } = await fetchModel(id)
    const parsed = parseSafetensors(file)
    t.equal(card.weights.sha256, createHash('sha256').update(file).digest('hex'), `${name}: weights.sha256 is the SHA-256 of the download`)
    t.equal(card.weights.tensors_sha256, parsed.dataSha256, `${name}: tensors_sha256 is the SHA-256 of the tensor bytes`)
    t.equal((8 + Number(new DataView(file.buffer).getBigUint64(0, true))) % 8, 0, 'tensor data starts 8-byte aligned')
    const embedded = JSON.parse(parsed.metadata.card)
    const { sha256, ...weightsWithoutFileHash } = card.weights
    t.same(embedded, { ...card, weights: weightsWithoutFileHash }, `${name}: the embedded card is the card without the file's own hash`)
    t.same([...parsed.tensors.keys()], card.architecture.state_dict.map((e: { name: string }) => e.name), 'tensors in state_dict order, PyTorch names')
    for (const e of card.architecture.state_dict) t.same(parsed.tensors.get(e.name)!.shape, e.shape, `${e.name} shape`)
    const json = (await (await server.fetch(`/jobs/${id}/weights`)).json()) as Record<string, { data: number[] }>
    for (const [k, v] of parsed.tensors) t.same(Array.from(v.data), json[k].data, `${k}: same values as the JSON export`)
    const again = new Uint8Array(await (await server.fetch(`/jobs/${id}/weights?format=safetensors`)).arrayBuffer())
    t.same(Buffer.from(again), Buffer.from(file), 'the export is byte-for-byte reproducible')
  }
})

t.test('pairs: rebuilt from the card, the vocabulary in UTF-16 order', async (t) => {
  const { card, file } = await fetchModel(byName.get('mapper')!)
  t.same(card.vocabulary!.tokens, ['a', 'b', '😀', 'ﬁ'], 'the astral character sorts before U+FB01 (UTF-16 order)')
  t.match(card.vocabulary, { order: /UTF-16/, unit: 'unicode_code_point' })
  t.match(card.architecture.rnn, { class: 'RNN', kwargs: { batch_first: true, num_layers: 2, nonlinearity: 'tanh', input_size: 4 } })
  const model = new RebuiltModel(card, parseSafetensors(file).tensors)
  for (const input of ['abﬁ😀', 'ba', '😀😀ab', 'ﬁ']) {
    t.equal(model.mapSequence(input), (await predict({ job: byName.get('mapper')!, input })).output, `map ${input}`)
  }
})

t.test('text: greedy generation from the card rules equals predict with temperature 0', async (t) => {
  const { card, file } = await fetchModel(byName.get('writer')!)
  t.match(card.prediction.generation, { prompt: /zero state/, output: /only the generated/ })
  t.ok(card.metrics.final_val_loss !== null && card.metrics.best_val_loss <= card.metrics.final_val_loss, 'validation losses are reported')
  t.equal(card.training.validation_split, 0.2, 'training configuration')
  t.match(card.data, { type: 'text', seq_len: 12 })
  const model = new RebuiltModel(card, parseSafetensors(file).tensors)
  for (const prompt of ['the ', 'd', 'on the m']) {
    t.equal(model.generateGreedy(prompt, 30), (await predict({ job: byName.get('writer')!, input: prompt, length: 30, temperature: 0 })).output, `continue ${JSON.stringify(prompt)}`)
  }
})

t.test('classes: the final [forward, reverse] state feeds the head; labels in logit order', async (t) => {
  const { card, file } = await fetchModel(byName.get('sorter')!)
  t.same(card.labels!.names, ['a', 'b', 'c'])
  t.equal(card.precision.compute, 'float64')
  t.equal(card.architecture.head.expression, 'fc(torch.cat([h_n[-2], h_n[-1]], dim=1))')
  const model = new RebuiltModel(card, parseSafetensors(file).tensors)
  for (const input of ['aab', 'cab', 'bbbbba']) {
    const served = (await predict({ job: byName.get('sorter')!, input })).probabilities as Record<string, number>
    const rebuilt = model.classify(input)
    for (const label of card.labels!.names) t.ok(Math.abs(rebuilt[label] - served[label]) < 1e-12, `${input}: p(${label}) ${rebuilt[label]} vs ${served[label]}`)
  }
})

t.test('series: population std from the card, rolling window, de-standardised forecast', async (t) => {
  const { card, file } = await fetchModel(byName.get('waves')!)
  const rows = Array.from({ length: 40 }, (_, i) => [Math.sin(i / 3) * 5 + 10, Math.cos(i / 4) - 3])
  const mean = [0, 1].map((f) => rows.reduce((s, r) => s + r[f], 0) / rows.length)
  const popStd = [0, 1].map((f) => Math.sqrt(rows.reduce((s, r) => s + (r[f] - mean[f]) ** 2, 0) / rows.length))
  card.series!.mean.forEach((m, f) => t.ok(Math.abs(m - mean[f]) < 1e-12, `mean[${f}]`))
  card.series!.std.forEach((s, f) => t.ok(Math.abs(s - popStd[f]) < 1e-12, `std[${f}] is the population std`))
  t.match(card.series, { window: 6, horizon: 3, std_kind: /population/ })
  // The default precision: the service computes in float32, the rebuild in float64 from the same weights.
  t.equal(card.precision.compute, 'float32')
  const model = new RebuiltModel(card, parseSafetensors(file).tensors)
  const history = rows.slice(-10)
  const served = (await predict({ job: byName.get('waves')!, input: history.map((r) => r.join(',')).join(';') })).output as number[][]
  const rebuilt = model.forecast(history)
  t.equal(served.length, 3, 'horizon rows')
  for (let i = 0; i < 3; i++) for (let f = 0; f < 2; f++) t.ok(Math.abs(rebuilt[i][f] - served[i][f]) <= 1e-5 * Math.abs(rebuilt[i][f]), `step ${i + 1} feature ${f}: ${rebuilt[i][f]} vs ${served[i][f]}`)
})

t.test('LSTM with proj_size: the card and safetensors describe it, ONNX refuses with a reason', async (t) => {
  const id = byName.get('projected')!
  const { card, file } = await fetchModel(id)
  t.match(card.architecture.rnn.kwargs, { proj_size: 3, hidden_size: 6 })
  const model = new RebuiltModel(card, parseSafetensors(file).tensors)
  t.equal(model.mapSequence('hello'), (await predict({ job: id, input: 'hello' })).output)
  const body = await readError(t, await server.fetch(`/jobs/${id}/weights?format=onnx`), { statusCode: 409, code: 'export_unsupported', error: 'Conflict' })
  t.match(body.message, /proj_size=3/)
})

t.test('errors: unknown job 404, job without checkpoint 409, unknown format 400', async (t) => {
  await readError(t, await server.fetch('/jobs/nope/model'), { statusCode: 404, code: 'job_not_found', error: 'Not Found' })
  await readError(t, await server.fetch('/jobs/nope/weights?format=onnx'), { statusCode: 404, code: 'job_not_found', error: 'Not Found' })
  await readError(t, await server.fetch(`/jobs/${byName.get('mapper')}/weights?format=pickle`), { statusCode: 400, code: 'validation_failed', error: 'Bad Request' })
  const queued = await server.app.storage.jobs.createOrFind({ name: 'waiting', spec: { model: {}, data: {}, training: {} }, dataSummary: {}, epochs: 1 }, Date.now())
  server.app.runner?.cancel(queued.job.id)
  const body = await readError(t, await server.fetch(`/jobs/${queued.job.id}/model`), { statusCode: 409, code: 'job_not_succeeded', error: 'Conflict' })
  t.match(body.message, /no checkpoint/)
})
