import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { JobsClient } from '../helpers/jobs-client.js'
import { MODEL_DEFAULTS, TRAINING_DEFAULTS, type JobRequest } from '../helpers/job-specs.js'
import { readError, startServer } from '../helpers/server.js'

/**
 * training.init_from over a real server and real worker threads: a job starts from the weights
 * of a model version (resolved and pinned at submission) and trains exactly as PyTorch
 * fine-tuning the same weights does (test/fixtures/torch_models.json, make_torch_models.py).
 */
const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures')
const ft = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'torch_models.json'), 'utf8')).fine_tune

// The runner starts later: the first test needs a job that waits in the queue.
const server = await startServer(t)
const client = new JobsClient(server.baseUrl)

async function json<T = any>(p: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const response = await server.fetch(p, init)
  return { status: response.status, body: (await response.json()) as T }
}
const send = (method: string, p: string, body: unknown) => json(p, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
const importSource = async (name: string) => {
  const r = await send('POST', `/models/${name}/versions`, { card: ft.card, state_dict: ft.state_dict })
  if (r.status !== 201) throw new Error(JSON.stringify(r.body))
  return r.body.version as number
}

/** The fixture's fine-tuning run as a job: GRU 12, float64, Adam, one full batch per epoch. */
const fineTune = (initFrom: unknown, overrides: Partial<JobRequest['model']> = {}, data = ft.data): JobRequest => ({
  name: 'tuned',
  model: { ...MODEL_DEFAULTS, type: 'gru', hidden_size: 12, dtype: 'float64', ...overrides },
  data,
  training: { ...TRAINING_DEFAULTS, ...ft.training, seed: 5, init_from: initFrom } as JobRequest['training'],
})

t.test('a queued job whose version is deleted before it starts fails with init_from_missing', async (t) => {
  const version = await importSource('doomed')
  const job = await client.submit(fineTune(`doomed`))
  t.same(job.training.init_from, { model: 'doomed', version })
  t.equal((await server.fetch(`/models/doomed/versions/${version}`, { method: 'DELETE' })).status, 204)
  server.app.runner!.start()
  const [done] = await client.waitForFinished([job.id])
  t.equal(done.status, 'failed')
  t.match(done.error, { code: 'init_from_missing', message: /version 1 of "doomed", which no longer exists/ })
})

t.test('fine-tuning starts from the version the alias named at submission and trains as PyTorch does', async (t) => {
  const first = await importSource('source')
  const second = await importSource('source')
  t.equal((await send('PUT', '/models/source/aliases/production', { version: first })).status, 200)
  const job = await client.submit(fineTune('source@production'))
  t.same(job.training.init_from, { model: 'source', version: first }, 'the job stores the resolved version')
  // Moving the alias now changes nothing for the job.
  t.equal((await send('PUT', '/models/source/aliases/production', { version: second })).status, 200)
  const [done] = await client.waitForFinished([job.id])
  t.equal(done.status, 'succeeded', JSON.stringify(done.error))
  t.same(done.training.init_from, { model: 'source', version: first })
  // An Idempotency-Key replay is the same request even though the alias has moved since.
  const keyed = await server.postJson('/jobs', fineTune('source@production'), { 'idempotency-key': 'ft-1' })
  t.equal((await send('PUT', '/models/source/aliases/production', { version: first })).status, 200)
  const replay = await server.postJson('/jobs', fineTune('source@production'), { 'idempotency-key': 'ft-1' })
  t.same([keyed.status, replay.status, replay.headers.get('idempotent-replayed')], [202, 202, 'true'])
  t.equal(((await replay.json()) as { id: string }).id, ((await keyed.json()) as { id: string }).id)

  const losses = await client.losses(job.id)
  t.equal(losses.length, ft.losses.length)
  losses.forEach((p, i) => t.ok(Math.abs(p.loss - ft.losses[i]) <= 1e-9, `epoch ${i + 1}: loss ${p.loss} vs PyTorch ${ft.losses[i]}`))
  t.ok(Math.abs(losses[0].loss - ft.losses[0]) <= 1e-9, 'epoch 1 is the source model\'s loss on the new data: training started from its weights')
  const weights = (await json(`/jobs/${job.id}/weights`)).body
  let worst = 0
  for (const [name, tensor] of Object.entries(ft.final_state_dict as Record<string, { data: number[] }>)) {
    tensor.data.forEach((v, i) => { worst = Math.max(worst, Math.abs(weights[name].data[i] - v)) })
  }
  t.ok(worst <= 1e-9, `final weights equal PyTorch's (max |diff| ${worst})`)

  const card = (await json(`/jobs/${job.id}/model`)).body
  t.same(card.source.init_from, { model: 'source', version: first }, 'the card records where training started')
  t.same(card.vocabulary.tokens, ft.card.vocabulary.tokens, 'the source vocabulary is kept (the new data uses only some of it)')
})

t.test('init_from as a name and as {model, version}; epoch 1 equals the epoch after the source\'s last', async (t) => {
  // A source trained here: one full batch per epoch, so epoch N+1 of a longer run sees exactly
  // the source's final weights, as epoch 1 of the fine-tuning job does.
  const pairs = [{ input: 'hello', target: 'elloh' }, { input: 'world', target: 'dlrow' }]
  const base: JobRequest = {
    name: 'seqsource', model: { ...MODEL_DEFAULTS, type: 'lstm', hidden_size: 6, dtype: 'float64' }, data: { type: 'pairs', pairs },
    training: { ...TRAINING_DEFAULTS, epochs: 15, batch_size: 2, learning_rate: 0.05 },
  }
  const source = await client.submit(base)
  const longer = await client.submit({ ...base, name: 'seqlonger', training: { ...base.training, epochs: 16 } })
  await client.waitForFinished([source.id, longer.id])
  const byName = await client.submit({ ...base, name: 'seqtuned', training: { ...base.training, epochs: 2, init_from: 'seqsource' } as JobRequest['training'] })
  const pinned = await client.submit({ ...base, name: 'seqtuned', training: { ...base.training, epochs: 2, init_from: { model: 'seqsource', version: 1 } } as JobRequest['training'] })
  t.same(byName.training.init_from, { model: 'seqsource', version: 1 }, 'a bare name resolves to the highest version')
  const done = await client.waitForFinished([byName.id, pinned.id])
  t.same(done.map((j) => j.status), ['succeeded', 'succeeded'])
  const reference = (await client.losses(longer.id))[15].loss
  for (const job of done) t.equal((await client.losses(job.id))[0].loss, reference, 'epoch 1 loss = loss of the source\'s final weights')
})

t.test('what does not match is a 400 that says what differs; unknown references say what exists', async (t) => {
  const post = (body: JobRequest) => server.postJson('/jobs', body)
  const arch = await readError(t, await post(fineTune('source@production', { type: 'lstm', hidden_size: 8 })), { statusCode: 400, code: 'init_from_mismatch', error: 'Bad Request' })
  t.match(arch.message, /model\.type is lstm but the model is gru/)
  t.match(arch.message, /model\.hidden_size is 8 but the model has 12/)
  const layers = await readError(t, await post(fineTune({ model: 'source', version: 1 }, { num_layers: 2 })), { statusCode: 400, code: 'init_from_mismatch', error: 'Bad Request' })
  t.match(layers.message, /model\.num_layers is 2 but the model has 1/)
  const chars = await readError(t, await post(fineTune('source', {}, { type: 'pairs', pairs: [{ input: 'abz', target: 'zba' }] })), { statusCode: 400, code: 'init_from_mismatch', error: 'Bad Request' })
  t.match(chars.message, /characters the model of training\.init_from has no input for: "z"/)
  const task = await readError(t, await post(fineTune('source', {}, { type: 'text', text: 'abcabcabc', seq_len: 4 })), { statusCode: 400, code: 'init_from_mismatch', error: 'Bad Request' })
  t.match(task.message, /is a pairs model; data\.type is "text"/)
  const nobody = await readError(t, await post(fineTune('nobody')), { statusCode: 404, code: 'model_not_found', error: 'Not Found' })
  t.match(nobody.message, /^training\.init_from: No model is named "nobody"/)
  const alias = await readError(t, await post(fineTune('source@staging')), { statusCode: 404, code: 'alias_not_found', error: 'Not Found' })
  t.match(alias.message, /aliases: production/)
  await readError(t, await post(fineTune({ model: 'source', version: 99 })), { statusCode: 404, code: 'version_not_found', error: 'Not Found' })
  await readError(t, await post(fineTune('source@')), { statusCode: 400, code: 'validation_failed', error: 'Bad Request' })
  await readError(t, await post(fineTune({ model: 'source' })), { statusCode: 400, code: 'validation_failed', error: 'Bad Request' })
})
