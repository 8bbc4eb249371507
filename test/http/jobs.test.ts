import t from 'tap'
import { TEXT_CORPUS, classesJob, longJob, seriesJob, textJob, tutorialJob, type JsonObject } from '../helpers/jobs.js'
import { readError, type TapTest } from '../helpers/server.js'
import { startService, tempDir, type JobBody, type TestService } from '../helpers/service.js'

/**
 * POST /jobs and the job resource against a real server over a real SQLite file. Servers
 * started with `training: false` keep every job queued (no worker threads), which makes the
 * queued state observable; the others train on two worker threads.
 */

const dir = tempDir(t)

const BAD_REQUEST = { statusCode: 400, error: 'Bad Request' } as const
const unknownField = { ...BAD_REQUEST, code: 'unknown_field' }
const validationFailed = { ...BAD_REQUEST, code: 'validation_failed' }
const invalidData = { ...BAD_REQUEST, code: 'invalid_data' }
const limitExceeded = { ...BAD_REQUEST, code: 'limit_exceeded' }
const jobNotFound = { statusCode: 404, code: 'job_not_found', error: 'Not Found' }

const queuedService = (t: TapTest, limits = {}) => startService(t, { dir, training: false, limits })
const trainingService = (t: TapTest, workers = 2) => startService(t, { dir, workers })

const JOB_FIELDS = [
  'attempt', 'best_loss', 'cancel_requested', 'checkpoint', 'created_at', 'data', 'error', 'finished_at', 'id', 'loss', 'model', 'name',
  'progress', 'started_at', 'status', 'stopped_early', 'storage_wait', 'training',
]
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/

t.test('POST /jobs -> 202, Location and the job with every default filled in', async (t) => {
  const service = await queuedService(t)
  const response = await service.postJson('/jobs', {
    model: { type: 'rnn' },
    data: { type: 'pairs', pairs: [{ input: 'hello', target: 'elloh' }] },
  })
  t.equal(response.status, 202)
  t.match(response.headers.get('content-type'), /^application\/json/)
  const job = (await response.json()) as JobBody
  t.equal(response.headers.get('location'), `/jobs/${job.id}`)
  t.same(Object.keys(job).sort(), JOB_FIELDS, 'exactly the documented fields')
  t.equal(job.name, 'rnn-pairs', 'name defaults to <model.type>-<data.type>')
  t.equal(job.status, 'queued')
  t.same(job.model, { type: 'rnn', hidden_size: 64, num_layers: 1, bidirectional: false, dropout: 0, nonlinearity: 'tanh', proj_size: 0, dtype: 'float32' })
  t.same(job.training, {
    epochs: 100, optimizer: 'adam', learning_rate: 0.01, batch_size: 32, seed: 0, clip_grad_norm: null, validation_split: 0,
    checkpoint_every: 10, max_runtime_seconds: 3600, carry_hidden: false, shuffle: true, weight_decay: 0, momentum: 0,
  }, 'training omitted entirely -> all defaults')
  t.same(job.data, { type: 'pairs', pairs: 1, characters: 5 }, 'a summary of the data')
  t.notMatch(JSON.stringify(job), /hello|elloh/, 'never the dataset itself')
  t.same(job.progress, { epoch: 0, epochs: 100 })
  t.same([job.loss, job.best_loss, job.error, job.attempt, job.checkpoint], [null, null, null, 0, null])
  t.match(job.created_at, ISO)
  t.same([job.started_at, job.finished_at], [null, null])
  t.equal(job.storage_wait, null, 'not waiting for its database')

  t.same(await service.getJob(job.id), job, 'GET /jobs/{id} returns the same job')
})

t.test('POST /jobs keeps given values and fills only the missing ones', async (t) => {
  const service = await queuedService(t)
  const job = await service.submitOk({
    name: 'my-model_v1.2',
    model: { type: 'lstm', hidden_size: 12, proj_size: 4, num_layers: 2, dropout: 0.1 },
    data: { type: 'text', text: 'abcabcabcabc', seq_len: 11 },
    training: { epochs: 7, optimizer: 'sgd', momentum: 0.9, clip_grad_norm: 1.5 },
  })
  t.equal(job.name, 'my-model_v1.2')
  t.match(job.model, { type: 'lstm', hidden_size: 12, proj_size: 4, num_layers: 2, dropout: 0.1, bidirectional: false })
  t.match(job.training, { epochs: 7, optimizer: 'sgd', momentum: 0.9, clip_grad_norm: 1.5, learning_rate: 0.01, batch_size: 32 })
  t.same(job.data, { type: 'text', characters: 12, seq_len: 11 })
})

t.test('unknown or misspelt fields at any depth -> 400 unknown_field naming the field', async (t) => {
  const service = await queuedService(t)
  const cases: [JsonObject, string][] = [
    [{ ...tutorialJob(), modle: {} }, 'body has unknown field "modle"'],
    [tutorialJob({ model: { hiden_size: 8 } }), 'body/model has unknown field "hiden_size"'],
    [tutorialJob({ training: { epoch: 5 } }), 'body/training has unknown field "epoch"'],
    [tutorialJob({ data: { seq_len: 5 } }), 'body/data has unknown field "seq_len"'],
    [tutorialJob({ data: { pairs: [{ input: 'ab', target: 'ba', weight: 1 }] } }), 'body/data/pairs/0 has unknown field "weight"'],
    [classesJob({ data: { examples: [{ input: 'a', labl: 'x' }, { input: 'b', label: 'y' }] } }), 'body/data/examples/0 has unknown field "labl"'],
  ]
  for (const [body, message] of cases) {
    const error = await readError(t, await service.postJson('/jobs', body), unknownField)
    t.match(error.message, message)
  }
})

t.test('wrong types and values -> 400 validation_failed naming the field', async (t) => {
  const service = await queuedService(t)
  const cases: [JsonObject, string][] = [
    [tutorialJob({ model: { hidden_size: '8' } }), 'body/model/hidden_size must be integer'],
    [tutorialJob({ training: { epochs: 2.5 } }), 'body/training/epochs must be integer'],
    [tutorialJob({ model: { type: 'transformer' } }), 'body/model/type must be one of "rnn", "lstm", "gru"'],
    [tutorialJob({ data: { type: 'images' } }), 'body/data/type must be one of "pairs", "text", "series", "classes"'],
    [tutorialJob({ data: { pairs: 'hello' } }), 'body/data/pairs must be array'],
    [tutorialJob({ training: { learning_rate: 0 } }), 'body/training/learning_rate must be > 0'],
    [tutorialJob({ training: { optimizer: 'adamax' } }), 'body/training/optimizer must be one of'],
    [tutorialJob({ training: { validation_split: 0.9 } }), 'body/training/validation_split must be <= 0.5'],
    [tutorialJob({ name: 'has space' }), 'body/name must match pattern'],
    [{ data: tutorialJob().data }, 'body/model is required'],
    [{ model: { type: 'rnn' } }, 'body/data is required'],
    [seriesJob({ data: { series: [1, 'two', 3] } }), 'body/data/series/1 must be number or array'],
  ]
  for (const [body, message] of cases) {
    const error = await readError(t, await service.postJson('/jobs', body), validationFailed)
    t.match(error.message, message)
  }
  const proj = await readError(t, await service.postJson('/jobs', tutorialJob({ model: { type: 'gru', proj_size: 4 } })), validationFailed)
  t.match(proj.message, 'body/model/proj_size is only supported when model.type is "lstm"')
  const projTooBig = await readError(t, await service.postJson('/jobs', tutorialJob({ model: { type: 'lstm', hidden_size: 8, proj_size: 8 } })), validationFailed)
  t.match(projTooBig.message, 'body/model/proj_size must be smaller than hidden_size (8)')
})

t.test('each limit is a 400 naming the field and the limit', async (t) => {
  const limits = { maxHiddenSize: 32, maxNumLayers: 2, maxEpochs: 500, maxSeqLen: 16, maxDatasetChars: 200, maxSeriesPoints: 50, maxExamples: 10 }
  const service = await queuedService(t, limits)
  const failsWith = async (body: JsonObject, expected: typeof validationFailed, message: string | RegExp) => {
    const error = await readError(t, await service.postJson('/jobs', body), expected)
    t.match(error.message, message)
  }
  await failsWith(tutorialJob({ model: { hidden_size: 33 } }), validationFailed, 'body/model/hidden_size must be <= 32')
  await failsWith(tutorialJob({ model: { num_layers: 3 } }), validationFailed, 'body/model/num_layers must be <= 2')
  await failsWith(tutorialJob({ training: { epochs: 501 } }), validationFailed, 'body/training/epochs must be <= 500')
  await failsWith(textJob({ data: { seq_len: 17 } }), validationFailed, 'body/data/seq_len must be <= 16')
  await failsWith(tutorialJob({ data: { pairs: [{ input: 'a'.repeat(17), target: 'b'.repeat(17) }] } }), validationFailed, 'body/data/pairs/0/input must NOT have more than 16 characters')
  await failsWith(textJob({ data: { text: 'ab'.repeat(101) } }), validationFailed, 'body/data/text must NOT have more than 200 characters')
  const manyPairs = Array.from({ length: 8 }, () => ({ input: 'abcdefghijklm', target: 'mlkjihgfedcba' }))
  await failsWith(tutorialJob({ data: { pairs: manyPairs } }), limitExceeded, /body\/data holds 208 characters; the limit is 200 \(MAX_DATASET_CHARS\)/)
  await failsWith(seriesJob({ data: { series: Array.from({ length: 51 }, (_, i) => i), window: 4 } }), validationFailed, 'body/data/series must NOT have more than 50 items')
  const rows = Array.from({ length: 30 }, (_, i) => [i, -i])
  await failsWith(seriesJob({ data: { series: rows, window: 4 } }), limitExceeded, 'body/data/series holds 60 numbers; the limit is 50 (MAX_SERIES_POINTS)')
  const elevenPairs = Array.from({ length: 11 }, () => ({ input: 'ab', target: 'ba' }))
  await failsWith(tutorialJob({ data: { pairs: elevenPairs } }), validationFailed, 'body/data/pairs must NOT have more than 10 items')
  const examples = Array.from({ length: 11 }, (_, i) => ({ input: 'ab', label: i % 2 ? 'odd' : 'even' }))
  await failsWith(classesJob({ data: { examples } }), validationFailed, 'body/data/examples must NOT have more than 10 items')

  // Just inside every limit is accepted.
  t.equal((await service.postJson('/jobs', tutorialJob({ model: { hidden_size: 32, num_layers: 2 }, training: { epochs: 500 } }))).status, 202)
  t.equal((await service.postJson('/jobs', seriesJob({ data: { series: rows.slice(0, 25), window: 4 } }))).status, 202)
})

t.test('a body over MAX_BODY_BYTES -> 413 naming the limit', async (t) => {
  const service = await startService(t, { dir, training: false, limits: { maxBodyBytes: 2048 } })
  const body = textJob({ data: { text: 'x'.repeat(3000) } })
  const error = await readError(t, await service.postJson('/jobs', body), { statusCode: 413, code: 'payload_too_large', error: 'Payload Too Large' })
  t.equal(error.message, 'Request body exceeds the limit of 2048 bytes (MAX_BODY_BYTES)')
})

t.test('data that cannot train the model -> 400 invalid_data saying why', async (t) => {
  const service = await queuedService(t)
  const cases: [JsonObject, RegExp][] = [
    [tutorialJob({ data: { pairs: [{ input: 'hello', target: 'ello' }] } }), /data\.pairs\[0\]: input has 5 characters but target has 4/],
    [textJob({ data: { text: 'abcdefghij', seq_len: 10 } }), /data\.text has 10 training characters; it needs at least seq_len \+ 1 = 11/],
    [seriesJob({ data: { series: [1, 2, 3, 4, 5], window: 5 } }), /data\.series has 5 points; it needs at least window \+ 1 = 6/],
    [classesJob({ data: { examples: [{ input: 'ab', label: 'x' }, { input: 'ba', label: 'x' }] } }), /only the label "x"; classification needs at least two labels/],
    [seriesJob({ data: { series: [[1, 2], [3], [4, 5], [6, 7]], window: 2 } }), /data\.series\[1\] must be an array of 2 numbers/],
    [seriesJob({ data: { series: [[1, 2], 3, [4, 5], [6, 7]], window: 2 } }), /data\.series\[1\] must be an array of 2 numbers/],
    [seriesJob({ data: { series: [1, [2, 3], 4, 5], window: 2 } }), /data\.series\[1\] is not a finite number/],
  ]
  for (const [body, message] of cases) {
    const error = await readError(t, await service.postJson('/jobs', body), invalidData)
    t.match(error.message, message)
  }
  const list = await service.getJson<{ items: unknown[] }>('/jobs')
  t.same(list.body.items, [], 'no job was created by a rejected request')
})

t.test('malformed requests: bad JSON -> 400 invalid_json, other content types -> 415', async (t) => {
  const service = await queuedService(t)
  const badJson = await readError(t, await service.postJson('/jobs', '{"model": {"type": "rnn"},'), { ...BAD_REQUEST, code: 'invalid_json' })
  t.equal(badJson.message, 'Request body is not valid JSON')
  const text = await service.fetch('/jobs', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(tutorialJob()) })
  const unsupported = await readError(t, text, { statusCode: 415, code: 'unsupported_media_type', error: 'Unsupported Media Type' })
  t.equal(unsupported.message, 'Content-Type text/plain is not supported; send application/json')
  const form = await service.fetch('/jobs', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'model=rnn' })
  await readError(t, form, { statusCode: 415, code: 'unsupported_media_type', error: 'Unsupported Media Type' })
  const notObject = await readError(t, await service.postJson('/jobs', '[1, 2]'), validationFailed)
  t.match(notObject.message, 'body must be object')
})

t.test('Idempotency-Key: same key and body -> the same job; a different body -> 422', async (t) => {
  const service = await queuedService(t)
  const key = { 'idempotency-key': 'order-42' }
  const first = await service.postJson('/jobs', tutorialJob(), key)
  t.equal(first.status, 202)
  const job = (await first.json()) as JobBody

  // The same request with its keys (at every depth) in another order.
  const reordered = {
    training: { seed: 0, batch_size: 1, learning_rate: 0.1, epochs: 200 },
    data: { pairs: [{ target: 'elloh', input: 'hello' }], type: 'pairs' },
    model: { hidden_size: 8, type: 'rnn' },
    name: 'greeter',
  }
  const again = await service.postJson('/jobs', reordered, key)
  t.equal(again.status, 202)
  t.equal(again.headers.get('idempotent-replayed'), 'true')
  t.equal(again.headers.get('location'), `/jobs/${job.id}`)
  t.same(((await again.json()) as JobBody).id, job.id, 'the same job again')

  const different = await service.postJson('/jobs', tutorialJob({ training: { epochs: 201 } }), key)
  const error = await readError(t, different, { statusCode: 422, code: 'idempotency_mismatch', error: 'Unprocessable Entity' })
  t.match(error.message, `Idempotency-Key "order-42" was already used for job ${job.id} with a different request body`)

  const list = await service.getJson<{ items: JobBody[] }>('/jobs')
  t.same(list.body.items.map((j) => j.id), [job.id], 'only one job exists')

  // Retries racing each other still make one job.
  const racing = await Promise.all([1, 2, 3].map(() => service.postJson('/jobs', textJob(), { 'idempotency-key': 'order-44' })))
  t.same(racing.map((r) => r.status), [202, 202, 202])
  const racingIds = new Set(await Promise.all(racing.map(async (r) => ((await r.json()) as JobBody).id)))
  t.equal(racingIds.size, 1, 'concurrent retries with one key -> one job')

  const otherKey = await service.submitOk(tutorialJob(), { 'idempotency-key': 'order-43' })
  t.not(otherKey.id, job.id, 'another key is another job')
  const noKey = await service.submitOk(tutorialJob())
  t.not(noKey.id, job.id, 'without a key every POST is a new job')
})

t.test('GET /jobs/{id} of a trained job: progress, losses, checkpoint and times', async (t) => {
  const service = await trainingService(t)
  const submitted = await service.submitOk(tutorialJob({ training: { checkpoint_every: 7 } }))
  const job = await service.waitForEnd(submitted.id)
  t.same(Object.keys(job).sort(), JOB_FIELDS)
  t.equal(job.status, 'succeeded')
  t.same(job.progress, { epoch: 200, epochs: 200 })
  t.equal(job.attempt, 1)
  t.equal(job.error, null)
  t.type(job.loss, 'number')
  t.ok(job.best_loss !== null && job.loss !== null && job.best_loss <= job.loss, 'best_loss <= loss')
  t.equal(job.checkpoint?.epoch, 200, 'the final checkpoint')
  t.match(job.checkpoint?.created_at, ISO)
  t.match(job.started_at, ISO)
  t.match(job.finished_at, ISO)
  const times = [job.created_at, job.started_at!, job.checkpoint!.created_at, job.finished_at!].map((s) => Date.parse(s))
  t.same([...times].sort((a, b) => a - b), times, 'created <= started <= checkpoint <= finished')
  t.same(job.data, { type: 'pairs', pairs: 1, characters: 5 })

  const missing = await readError(t, await service.fetch('/jobs/no-such-job'), jobNotFound)
  t.equal(missing.message, 'No job with id no-such-job')
})

t.test('GET /jobs: newest first, filters, and pages that cover every job once', async (t) => {
  const service = await queuedService(t)
  const ids: string[] = []
  for (let i = 0; i < 7; i++) {
    ids.push((await service.submitOk(tutorialJob({ name: i % 2 === 0 ? 'even' : 'odd' }))).id)
  }
  const newestFirst = [...ids].reverse()
  const cancelled = ids[2]!
  t.equal((await service.postJson(`/jobs/${cancelled}/cancel`, {})).status, 202)

  type Page = { items: JobBody[]; next_cursor: string | null }
  const all = await service.getJson<Page>('/jobs')
  t.equal(all.response.status, 200)
  t.same(all.body.items.map((j) => j.id), newestFirst)
  t.equal(all.body.next_cursor, null)
  t.notMatch(JSON.stringify(all.body), /elloh/, 'listings carry no datasets')
  t.same(Object.keys(all.body.items[0]!).sort(), JOB_FIELDS)

  const seen: string[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`
    const page: { body: Page } = await service.getJson<Page>(`/jobs?limit=3${query}`)
    t.ok(page.body.items.length <= 3)
    seen.push(...page.body.items.map((j) => j.id))
    cursor = page.body.next_cursor
    pages++
  } while (cursor !== null)
  t.equal(pages, 3, '7 jobs in pages of 3')
  t.same(seen, newestFirst, 'every job exactly once, newest first')

  const evens = await service.getJson<Page>('/jobs?name=even')
  t.same(evens.body.items.map((j) => j.id), newestFirst.filter((id) => ids.indexOf(id) % 2 === 0))
  const cancelledOnly = await service.getJson<Page>('/jobs?status=cancelled')
  t.same(cancelledOnly.body.items.map((j) => j.id), [cancelled])
  const queuedEvens = await service.getJson<Page>('/jobs?status=queued&name=even&limit=1')
  t.same(queuedEvens.body.items.map((j) => j.id), [ids[6]])
  t.type(queuedEvens.body.next_cursor, 'string')
  const next = await service.getJson<Page>(`/jobs?status=queued&name=even&limit=1&cursor=${queuedEvens.body.next_cursor}`)
  t.same(next.body.items.map((j) => j.id), [ids[4]], 'the cursor skips the cancelled even job')
  t.same((await service.getJson<Page>('/jobs?name=nobody')).body, { items: [], next_cursor: null })

  const badCursor = await readError(t, await service.fetch('/jobs?cursor=not-a-cursor'), { ...BAD_REQUEST, code: 'invalid_cursor' })
  t.match(badCursor.message, 'cursor')
  for (const [query, message] of [
    ['limit=0', 'querystring/limit must be >= 1'],
    ['limit=101', 'querystring/limit must be <= 100'],
    ['limit=ten', 'querystring/limit must be integer'],
    ['status=done', 'querystring/status must be one of'],
  ]) {
    const error = await readError(t, await service.fetch(`/jobs?${query}`), validationFailed)
    t.match(error.message, message!)
  }
  const typo = await readError(t, await service.fetch('/jobs?stauts=queued'), unknownField)
  t.equal(typo.message, 'querystring has unknown field "stauts"')
})

t.test('GET /jobs/{id}/losses: one point per epoch in order; val_loss with a split; CSV', async (t) => {
  const service = await trainingService(t)
  const plain = await service.submitOk(tutorialJob({ training: { epochs: 30 } }))
  const split = await service.submitOk(classesJob({ training: { epochs: 25, validation_split: 0.25 } }))
  await service.waitForEnd(plain.id)
  await service.waitForEnd(split.id)

  const losses = await service.losses(plain.id)
  t.same(losses.map((p) => p.epoch), Array.from({ length: 30 }, (_, i) => i + 1), 'epochs 1..30, each once')
  t.ok(losses.every((p) => Number.isFinite(p.loss) && !('val_loss' in p) && ISO.test(p.at)), 'loss and time, no val_loss without a split')
  t.ok(losses.at(-1)!.loss < losses[0]!.loss, 'the loss went down')
  const { body } = await service.getJson<{ job: string }>(`/jobs/${plain.id}/losses`)
  t.equal(body.job, plain.id)

  const withVal = await service.losses(split.id)
  t.same(withVal.map((p) => p.epoch), Array.from({ length: 25 }, (_, i) => i + 1))
  t.ok(withVal.every((p) => typeof p.val_loss === 'number' && Number.isFinite(p.val_loss)), 'every point has val_loss')
  t.equal((await service.getJob(split.id)).best_loss, Math.min(...withVal.map((p) => p.val_loss!)), 'best_loss tracks val_loss')

  const csv = await service.fetch(`/jobs/${split.id}/losses?format=csv`)
  t.equal(csv.status, 200)
  t.match(csv.headers.get('content-type'), /^text\/csv/)
  const lines = (await csv.text()).trimEnd().split('\n')
  t.equal(lines[0], 'epoch,loss,val_loss,at,lr,accuracy,val_accuracy', 'the loss columns, lr, then the metrics by name')
  t.equal(lines.length, 26, 'a header and 25 rows')
  t.same(lines.slice(1).map((line) => {
    const [epoch, loss, valLoss, at, lr, accuracy, valAccuracy] = line.split(',')
    return { epoch: Number(epoch), loss: Number(loss), val_loss: Number(valLoss), lr: Number(lr), metrics: { accuracy: Number(accuracy), val_accuracy: Number(valAccuracy) }, at }
  }), withVal, 'the same numbers as the JSON')
  const plainCsv = (await (await service.fetch(`/jobs/${plain.id}/losses?format=csv`)).text()).split('\n')
  t.match(plainCsv[1], /^1,[-\d.e]+,,\d{4}-[^,]+,0\.1,[\d.]+,[\d.]+$/, 'an empty val_loss column without a split')

  await readError(t, await service.fetch('/jobs/nope/losses'), jobNotFound)
  const badFormat = await readError(t, await service.fetch(`/jobs/${plain.id}/losses?format=xml`), validationFailed)
  t.match(badFormat.message, 'querystring/format must be one of "json", "csv", "svg"')
})

t.test('weights: PyTorch state_dict names and shapes; 409 before any checkpoint', async (t) => {
  const service = await trainingService(t)
  const rnn = await service.submitOk(tutorialJob({ training: { epochs: 20 } }))
  const lstm = await service.submitOk(textJob({ model: { hidden_size: 6, num_layers: 2, bidirectional: true }, training: { epochs: 2 } }))
  const projected = await service.submitOk(textJob({ model: { hidden_size: 6, proj_size: 3, num_layers: 2, bidirectional: true }, training: { epochs: 2 } }))
  await service.waitForEnd(rnn.id)
  await service.waitForEnd(lstm.id)
  await service.waitForEnd(projected.id)

  type StateDict = Record<string, { shape: number[]; data: number[] }>
  const shapes = (dict: StateDict) => Object.fromEntries(Object.entries(dict).map(([name, tensor]) => [name, tensor.shape]))
  const rnnWeights = await service.getJson<StateDict>(`/jobs/${rnn.id}/weights`)
  t.equal(rnnWeights.response.status, 200)
  // hello/elloh has 4 characters: one-hot inputs and logits of size 4.
  t.same(shapes(rnnWeights.body), {
    'rnn.weight_ih_l0': [8, 4], 'rnn.weight_hh_l0': [8, 8], 'rnn.bias_ih_l0': [8], 'rnn.bias_hh_l0': [8],
    'fc.weight': [4, 8], 'fc.bias': [4],
  })
  for (const [name, tensor] of Object.entries(rnnWeights.body)) {
    t.equal(tensor.data.length, tensor.shape.reduce((a, b) => a * b, 1), `${name}: data fills its shape`)
  }

  const lstmWeights = await service.getJson<StateDict>(`/jobs/${lstm.id}/weights`)
  const V = new Set(TEXT_CORPUS).size
  const expected: Record<string, number[]> = {}
  for (let layer = 0; layer < 2; layer++) {
    for (const suffix of ['', '_reverse']) {
      expected[`rnn.weight_ih_l${layer}${suffix}`] = [24, layer === 0 ? V : 12]
      expected[`rnn.weight_hh_l${layer}${suffix}`] = [24, 6]
      expected[`rnn.bias_ih_l${layer}${suffix}`] = [24]
      expected[`rnn.bias_hh_l${layer}${suffix}`] = [24]
    }
  }
  expected['fc.weight'] = [V, 12]
  expected['fc.bias'] = [V]
  t.same(shapes(lstmWeights.body), expected, 'lstm: 4 gates, both directions, 2 layers')

  // torch.nn.LSTM(V, 6, num_layers=2, bidirectional=True, proj_size=3)
  const projectedWeights = await service.getJson<StateDict>(`/jobs/${projected.id}/weights`)
  const withProjection: Record<string, number[]> = {}
  for (let layer = 0; layer < 2; layer++) {
    for (const suffix of ['', '_reverse']) {
      withProjection[`rnn.weight_ih_l${layer}${suffix}`] = [24, layer === 0 ? V : 6]
      withProjection[`rnn.weight_hh_l${layer}${suffix}`] = [24, 3]
      withProjection[`rnn.bias_ih_l${layer}${suffix}`] = [24]
      withProjection[`rnn.bias_hh_l${layer}${suffix}`] = [24]
      withProjection[`rnn.weight_hr_l${layer}${suffix}`] = [3, 6]
    }
  }
  withProjection['fc.weight'] = [V, 6]
  withProjection['fc.bias'] = [V]
  t.same(shapes(projectedWeights.body), withProjection, 'lstm with proj_size: weight_hr and projected sizes')

  const idle = await startService(t, { dir, training: false })
  const queued = await idle.submitOk(tutorialJob())
  const error = await readError(t, await idle.fetch(`/jobs/${queued.id}/weights`), { statusCode: 409, code: 'job_not_succeeded', error: 'Conflict' })
  t.match(error.message, `Job ${queued.id} is queued and has no checkpoint yet`)
  await readError(t, await idle.fetch('/jobs/nope/weights'), jobNotFound)
})

/** Cancellation and deletion need a job that is really running: a long job checkpointing every epoch. */
async function startLongJob(service: TestService, patch: JsonObject = {}): Promise<JobBody> {
  const job = await service.submitOk(longJob(patch))
  return service.waitForJob(job.id, (j) => j.status === 'running' && j.checkpoint !== null)
}

t.test('POST /jobs/{id}/cancel: queued at once; running stops, keeps its checkpoint; finished -> 409', async (t) => {
  // One worker: the long job occupies it, so the next job waits in the queue.
  const service = await trainingService(t, 1)
  const running = await startLongJob(service)
  t.equal(running.attempt, 1)
  t.match(running.started_at, ISO)
  t.equal(running.finished_at, null)
  t.ok(running.progress.epoch >= running.checkpoint!.epoch && running.progress.epochs === 100_000, 'progress while running')
  t.type(running.loss, 'number')
  const waiting = await service.submitOk(tutorialJob())
  t.equal((await service.getJob(waiting.id)).status, 'queued')

  // Clients that send a JSON content type on every request, body or not, are fine too.
  const cancelQueued = await service.fetch(`/jobs/${waiting.id}/cancel`, { method: 'POST', headers: { 'content-type': 'application/json' } })
  t.equal(cancelQueued.status, 202)
  const cancelledAtOnce = (await cancelQueued.json()) as JobBody
  t.equal(cancelledAtOnce.status, 'cancelled', 'a queued job is cancelled immediately')
  t.match(cancelledAtOnce.finished_at, ISO)
  t.equal(cancelledAtOnce.started_at, null, 'it never started')

  const cancelRunning = await service.fetch(`/jobs/${running.id}/cancel`, { method: 'POST' })
  t.equal(cancelRunning.status, 202, 'cancel needs no body')
  t.equal(((await cancelRunning.json()) as JobBody).id, running.id)
  const ended = await service.waitForEnd(running.id)
  t.equal(ended.status, 'cancelled')
  t.equal(ended.error, null)
  t.not(ended.checkpoint, null, 'the last checkpoint is kept')
  t.ok(ended.checkpoint!.epoch >= running.checkpoint!.epoch)
  t.ok(ended.progress.epoch < ended.progress.epochs, 'it stopped early')
  const losses = await service.losses(running.id)
  t.same(losses.map((p) => p.epoch), Array.from({ length: losses.length }, (_, i) => i + 1), 'each epoch once, from 1')
  t.ok(losses.length >= ended.checkpoint!.epoch, 'losses reach at least the checkpoint')
  t.equal(losses.length, ended.progress.epoch, 'progress matches the history')

  t.equal((await service.getJob(waiting.id)).status, 'cancelled', 'the cancelled queued job never runs')

  const again = await readError(t, await service.postJson(`/jobs/${running.id}/cancel`, {}), { statusCode: 409, code: 'job_finished', error: 'Conflict' })
  t.match(again.message, `Job ${running.id} already ended cancelled`)
  const done = await service.submitOk(tutorialJob({ training: { epochs: 5 } }))
  await service.waitForEnd(done.id)
  const finished = await readError(t, await service.postJson(`/jobs/${done.id}/cancel`, {}), { statusCode: 409, code: 'job_finished', error: 'Conflict' })
  t.match(finished.message, 'already ended succeeded')
  await readError(t, await service.postJson('/jobs/nope/cancel', {}), jobNotFound)
})

t.test('DELETE /jobs/{id}: 204 for a finished job (losses and checkpoints go too); 409 while active', async (t) => {
  const service = await trainingService(t, 1)
  const running = await startLongJob(service)
  const queued = await service.submitOk(tutorialJob({ training: { epochs: 20 } }))

  for (const job of [running, queued]) {
    const error = await readError(t, await service.fetch(`/jobs/${job.id}`, { method: 'DELETE' }), { statusCode: 409, code: 'job_active', error: 'Conflict' })
    t.match(error.message, `Job ${job.id} is still queued or running; cancel it first`)
  }

  await service.postJson(`/jobs/${running.id}/cancel`, {})
  await service.waitForEnd(running.id)
  const succeeded = await service.waitForEnd(queued.id)
  t.equal(succeeded.status, 'succeeded')
  t.equal((await service.fetch(`/predict?job=${queued.id}&input=hello`)).status, 200, 'served before the delete')

  for (const job of [running, succeeded]) {
    t.ok((await service.app.storage.losses.list(job.id)).length > 0, 'it has losses')
    t.ok((await service.app.storage.checkpoints.listMeta(job.id)).length > 0, 'it has checkpoints')
    const headers: Record<string, string> = job === running ? { 'content-type': 'application/json' } : {}
    const deleted = await service.fetch(`/jobs/${job.id}`, { method: 'DELETE', headers })
    t.equal(deleted.status, 204)
    t.equal(await deleted.text(), '', 'no body')
    await readError(t, await service.fetch(`/jobs/${job.id}`), jobNotFound)
    await readError(t, await service.fetch(`/jobs/${job.id}/losses`), jobNotFound)
    t.same(await service.app.storage.losses.list(job.id), [], 'losses deleted')
    t.same(await service.app.storage.checkpoints.listMeta(job.id), [], 'checkpoints deleted')
  }
  await readError(t, await service.fetch(`/predict?job=${queued.id}&input=hello`), jobNotFound)
  await readError(t, await service.fetch(`/jobs/${succeeded.id}`, { method: 'DELETE' }), jobNotFound)
})

t.test('a job that runs past max_runtime_seconds fails with its checkpoint kept', async (t) => {
  const service = await trainingService(t)
  const job = await service.submitOk(longJob({ training: { max_runtime_seconds: 1 } }))
  const ended = await service.waitForEnd(job.id)
  t.equal(ended.status, 'failed')
  t.equal(ended.error?.code, 'max_runtime_exceeded')
  t.match(ended.error?.message, 'max_runtime_seconds = 1')
  t.not(ended.checkpoint, null)
  const losses = await service.losses(job.id)
  t.same(losses.map((p) => p.epoch), Array.from({ length: losses.length }, (_, i) => i + 1))
  const failed = await service.getJson<{ items: JobBody[] }>('/jobs?status=failed')
  t.same(failed.body.items.map((j) => [j.id, j.error?.code]), [[job.id, 'max_runtime_exceeded']], '?status=failed lists it')
  t.same((await service.getJson<{ items: JobBody[] }>('/jobs?status=succeeded')).body.items, [])
})

