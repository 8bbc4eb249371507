import t from 'tap'
import { TEXT_CORPUS, classesJob, longJob, seriesJob, sineSeries, textJob, tutorialJob } from '../helpers/jobs.js'
import { readError, type TapTest } from '../helpers/server.js'
import { queryString, startService, tempDir, type JobBody } from '../helpers/service.js'

/**
 * GET and POST /predict against models trained by the real runner. The models are trained
 * once, up front, on one server; each test then asks them questions.
 */

const dir = tempDir(t)
const limits = { maxPredictLength: 300, maxPredictBatch: 4 }
const service = await startService(t, { dir, workers: 2, limits, modelCacheSize: 2 })

const BAD_REQUEST = { statusCode: 400, error: 'Bad Request' } as const
const validationFailed = { ...BAD_REQUEST, code: 'validation_failed' }
const invalidInput = { ...BAD_REQUEST, code: 'invalid_input' }
const unknownCharacters = { ...BAD_REQUEST, code: 'unknown_characters' }
const notSucceeded = { statusCode: 409, code: 'job_not_succeeded', error: 'Conflict' }

/** Multivariate: a sine and its cosine, one row per step. */
const sineCosine = Array.from({ length: 96 }, (_, i) => [Math.sin((2 * Math.PI * i) / 8), Math.cos((2 * Math.PI * i) / 8)])

const submitted = {
  greeter: await service.submitOk(tutorialJob()),
  poet: await service.submitOk(textJob()),
  forecaster: await service.submitOk(seriesJob()),
  pairForecaster: await service.submitOk(seriesJob({ name: 'pair-forecaster', data: { series: sineCosine, window: 8, horizon: 2 } })),
  sorter: await service.submitOk(classesJob()),
  // Labels are user data: names of Object.prototype members must work like any other.
  oddLabels: await service.submitOk(classesJob({
    name: 'odd-labels',
    data: { examples: [...['aa', 'aaa', 'a'].map((input) => ({ input, label: '__proto__' })), ...['bb', 'bbb', 'b'].map((input) => ({ input, label: 'constructor' }))] },
  })),
  // Two jobs of one name: ?model= serves the newer one.
  shifterOld: await service.submitOk(tutorialJob({ name: 'shifter', data: { pairs: [{ input: 'abc', target: 'bca' }] } })),
}
// Versions are numbered in order of completion: the newer job starts once the older one has ended.
await service.waitForEnd(submitted.shifterOld.id, 60_000)
const shifterNew = await service.submitOk(tutorialJob({ name: 'shifter', data: { pairs: [{ input: 'abc', target: 'cab' }] } }))
const jobs = {} as Record<keyof typeof submitted, JobBody>
for (const [name, job] of Object.entries(submitted)) jobs[name as keyof typeof submitted] = await service.waitForEnd(job.id, 60_000)
await service.waitForEnd(shifterNew.id)

interface PredictBody {
  job: string
  model: string
  task: string
  input: unknown
  output: unknown
  label?: string
  probabilities?: Record<string, number>
  seed?: number
}

async function predictOk(t: TapTest, query: string): Promise<PredictBody> {
  const { response, body } = await service.getJson<PredictBody>(`/predict?${query}`)
  t.equal(response.status, 200, `GET /predict?${query}`)
  return body
}

const q = queryString

t.test('every model trained', async (t) => {
  for (const [name, job] of Object.entries(jobs)) t.equal(job.status, 'succeeded', name)
})

t.test('pairs: ?job= and ?model= map the string the way it was trained (hello -> elloh)', async (t) => {
  const byJob = await predictOk(t, q({ job: jobs.greeter.id, input: 'hello' }))
  t.same(byJob, { job: jobs.greeter.id, model: 'greeter', version: 1, alias: null, task: 'pairs', input: 'hello', output: 'elloh' })
  const byName = await predictOk(t, q({ model: 'greeter', input: 'hello' }))
  t.same(byName, byJob)

  t.equal((await predictOk(t, q({ model: 'shifter', input: 'abc' }))).output, 'cab', 'the newest succeeded job of the name')
  t.equal((await predictOk(t, q({ model: 'shifter', input: 'abc' }))).job, shifterNew.id)
  t.equal((await predictOk(t, q({ job: jobs.shifterOld.id, input: 'abc' }))).output, 'bca', 'an older job by its id')
})

t.test('text: length characters; greedy and seeded sampling are deterministic; top_k', async (t) => {
  const vocabulary = new Set(TEXT_CORPUS)
  const greedy = await predictOk(t, q({ job: jobs.poet.id, input: 'the c', length: 40, temperature: 0 }))
  t.equal(greedy.task, 'text')
  t.equal(greedy.input, 'the c')
  t.equal([...(greedy.output as string)].length, 40, 'length characters generated')
  t.ok([...(greedy.output as string)].every((c) => vocabulary.has(c)), 'only characters of the corpus')
  const greedyAgain = await predictOk(t, q({ job: jobs.poet.id, input: 'the c', length: 40, temperature: 0 }))
  t.equal(greedyAgain.output, greedy.output, 'temperature=0 is greedy: the same text every time')
  const topOne = await predictOk(t, q({ job: jobs.poet.id, input: 'the c', length: 40, top_k: 1, seed: 99 }))
  t.equal(topOne.output, greedy.output, 'top_k=1 samples only the most likely character: the greedy text')

  const seeded = await predictOk(t, q({ job: jobs.poet.id, input: 'the', length: 60, temperature: 2, seed: 7 }))
  t.equal(seeded.seed, 7, 'the seed used is echoed')
  const seededAgain = await predictOk(t, q({ job: jobs.poet.id, input: 'the', length: 60, temperature: 2, seed: 7 }))
  t.equal(seededAgain.output, seeded.output, 'same seed, same text')
  const texts = new Set<unknown>()
  for (const seed of [1, 2, 3, 4, 5]) texts.add((await predictOk(t, q({ job: jobs.poet.id, input: 'the', length: 60, temperature: 10, seed }))).output)
  t.ok(texts.size > 1, 'different seeds at a high temperature give different texts')

  const unseeded = await predictOk(t, q({ job: jobs.poet.id, input: 'the', length: 30 }))
  t.type(unseeded.seed, 'number', 'without a seed the response says which one was used')
  const replay = await predictOk(t, q({ job: jobs.poet.id, input: 'the', length: 30, seed: unseeded.seed! }))
  t.equal(replay.output, unseeded.output, 'replaying that seed gives the same text')
  t.equal([...(await predictOk(t, q({ job: jobs.poet.id, input: 't', length: 300 }))).output as string].length, 300, 'the limit itself is allowed')
})

t.test('series: comma-separated history -> horizon numbers; rows with ";" for a multivariate series', async (t) => {
  const history = sineSeries(24, 5, 10)
  const truth = sineSeries(27, 5, 10).slice(24)
  const forecast = await predictOk(t, q({ job: jobs.forecaster.id, input: history.join(',') }))
  t.equal(forecast.task, 'series')
  const output = forecast.output as number[]
  t.equal(output.length, 3, "the job's horizon by default")
  output.forEach((value, i) => t.ok(Math.abs(value - truth[i]!) < 2, `step ${i + 1}: ${value.toFixed(2)} near ${truth[i]!.toFixed(2)} (amplitude 5)`))
  const longer = await predictOk(t, q({ job: jobs.forecaster.id, input: history.join(','), horizon: 6 }))
  t.equal((longer.output as number[]).length, 6, '?horizon= overrides it')
  t.same((longer.output as number[]).slice(0, 3), output, 'the first steps do not depend on the horizon')
  const spaced = await predictOk(t, q({ job: jobs.forecaster.id, input: history.join(', ') }))
  t.same(spaced.output, output, 'spaces after commas are fine')

  const rows = sineCosine.slice(0, 16)
  const multi = await predictOk(t, q({ job: jobs.pairForecaster.id, input: rows.map((r) => r.join(',')).join(';') }))
  const next = multi.output as number[][]
  t.equal(next.length, 2, 'horizon rows')
  t.ok(next.every((row) => row.length === 2 && row.every(Number.isFinite)), 'two numbers per row')
  t.ok(Math.abs(next[0]![0]! - sineCosine[16]![0]!) < 0.5 && Math.abs(next[0]![1]! - sineCosine[16]![1]!) < 0.5, 'near the true next row')

  const notNumber = await readError(t, await service.fetch(`/predict?${q({ job: jobs.forecaster.id, input: '1,2,abc,4' })}`), invalidInput)
  t.equal(notNumber.message, 'input value "abc" at position 3 is not a number')
  const empty = await readError(t, await service.fetch(`/predict?${q({ job: jobs.forecaster.id, input: '1,,2' })}`), invalidInput)
  t.match(empty.message, 'at position 2 is not a number')
  const wrongWidth = await readError(t, await service.fetch(`/predict?${q({ job: jobs.pairForecaster.id, input: '1,2;3;4,5' })}`), invalidInput)
  t.equal(wrongWidth.message, 'input row 2 has 1 values; this model reads 2 per step')
  const textToSeries = await readError(t, await service.fetch(`/predict?${q({ job: jobs.forecaster.id, input: '1,2', horizon: 301 })}`), validationFailed)
  t.equal(textToSeries.message, 'querystring/horizon must be <= 300')
})

t.test('classes: label and probabilities summing to 1', async (t) => {
  for (const [input, label] of [['aaaa', 'as'], ['bbb', 'bs'], ['a', 'as']] as const) {
    const result = await predictOk(t, q({ job: jobs.sorter.id, input }))
    t.equal(result.task, 'classes')
    t.equal(result.label, label, `${input} -> ${label}`)
    t.equal(result.output, label, 'output is the label')
    const probabilities = result.probabilities!
    t.same(Object.keys(probabilities).sort(), ['as', 'bs'], 'every label')
    const sum = Object.values(probabilities).reduce((a, b) => a + b, 0)
    t.ok(Math.abs(sum - 1) < 1e-9, `probabilities sum to 1 (${sum})`)
    t.ok(probabilities[label]! > 0.5, 'the label is the most likely')
  }
})

t.test('classes: any label string is a label, even "__proto__"', async (t) => {
  const result = await predictOk(t, q({ job: jobs.oddLabels.id, input: 'aa' }))
  t.equal(result.label, '__proto__')
  t.type(result.probabilities!['constructor'], 'number', '"constructor" has a probability, not Object')
  t.same(Object.keys(result.probabilities!).sort(), ['__proto__', 'constructor'], 'every label has a probability')
  const sum = Object.values(result.probabilities!).reduce((a, b) => a + b, 0)
  t.ok(Math.abs(sum - 1) < 1e-9, `probabilities sum to 1 (${sum})`)
})

t.test('characters outside the vocabulary -> 400 unknown_characters naming them', async (t) => {
  const pairs = await readError(t, await service.fetch(`/predict?${q({ job: jobs.greeter.id, input: 'help!' })}`), unknownCharacters)
  t.equal(pairs.message, 'input has characters the model never saw: "p", "!"')
  t.same(pairs.details, { characters: ['p', '!'] })
  const text = await readError(t, await service.fetch(`/predict?${q({ job: jobs.poet.id, input: 'the dog' })}`), unknownCharacters)
  t.match(text.message, /"d", "g"/)
  const classes = await readError(t, await service.fetch(`/predict?${q({ model: 'sorter', input: 'abc' })}`), unknownCharacters)
  t.match(classes.message, '"c"')
})

t.test('selecting the model: exactly one of job and model; 404s', async (t) => {
  const neither = await readError(t, await service.fetch('/predict?input=hello'), validationFailed)
  t.match(neither.message, 'exactly one of job')
  const both = await readError(t, await service.fetch(`/predict?${q({ job: jobs.greeter.id, model: 'greeter', input: 'hello' })}`), validationFailed)
  t.match(both.message, 'exactly one of job')
  const noJob = await readError(t, await service.fetch('/predict?job=nope&input=hello'), { statusCode: 404, code: 'job_not_found', error: 'Not Found' })
  t.equal(noJob.message, 'No job with id nope')
  const noModel = await readError(t, await service.fetch('/predict?model=nobody&input=hello'), { statusCode: 404, code: 'model_not_found', error: 'Not Found' })
  t.equal(noModel.message, 'No model is named "nobody" (a model appears when a job of that name succeeds or a version is imported)')
  const noInput = await readError(t, await service.fetch(`/predict?job=${jobs.greeter.id}`), validationFailed)
  t.equal(noInput.message, 'querystring/input is required')
  const typo = await readError(t, await service.fetch(`/predict?${q({ job: jobs.greeter.id, input: 'hello', lenght: 5 })}`), { ...BAD_REQUEST, code: 'unknown_field' })
  t.equal(typo.message, 'querystring has unknown field "lenght"')
  const tooLong = await readError(t, await service.fetch(`/predict?${q({ job: jobs.poet.id, input: 'the', length: 301 })}`), validationFailed)
  t.equal(tooLong.message, 'querystring/length must be <= 300')
  const hot = await readError(t, await service.fetch(`/predict?${q({ job: jobs.poet.id, input: 'the', temperature: -1 })}`), validationFailed)
  t.equal(hot.message, 'querystring/temperature must be >= 0')
  const notNumber = await readError(t, await service.fetch(`/predict?${q({ job: jobs.poet.id, input: 'the', temperature: 'warm' })}`), validationFailed)
  t.equal(notNumber.message, 'querystring/temperature must be number')
  const noLength = await readError(t, await service.fetch(`/predict?${q({ job: jobs.poet.id, input: 'the', length: 0 })}`), validationFailed)
  t.equal(noLength.message, 'querystring/length must be >= 1')
})

t.test('a job that has not succeeded -> 409 job_not_succeeded with its status', async (t) => {
  const idle = await startService(t, { dir, training: false })
  const queued = await idle.submitOk(tutorialJob())
  const queuedError = await readError(t, await idle.fetch(`/predict?${q({ job: queued.id, input: 'hello' })}`), notSucceeded)
  t.equal(queuedError.message, `Job ${queued.id} is queued; predictions need a succeeded job`)
  t.same(queuedError.details, { status: 'queued' })
  await readError(t, await idle.fetch(`/predict?${q({ model: 'greeter', input: 'hello' })}`), { statusCode: 404, code: 'model_not_found', error: 'Not Found' })

  const long = await service.submitOk(longJob({ name: 'greeter' }))
  const running = await service.waitForJob(long.id, (job) => job.status === 'running' && job.checkpoint !== null)
  const runningError = await readError(t, await service.fetch(`/predict?${q({ job: running.id, input: 'abc' })}`), notSucceeded)
  t.same(runningError.details, { status: 'running' })
  t.match(runningError.message, 'is running')
  t.equal((await predictOk(t, q({ model: 'greeter', input: 'hello' }))).job, jobs.greeter.id, 'a newer running job of the name does not shadow the succeeded one')

  await service.postJson(`/jobs/${long.id}/cancel`, {})
  await service.waitForEnd(long.id)
  const cancelledError = await readError(t, await service.fetch(`/predict?${q({ job: long.id, input: 'abc' })}`), notSucceeded)
  t.same(cancelledError.details, { status: 'cancelled' })

  const failing = await service.submitOk(longJob({ training: { max_runtime_seconds: 1 } }))
  const failed = await service.waitForEnd(failing.id)
  t.equal(failed.status, 'failed')
  const failedError = await readError(t, await service.fetch(`/predict?${q({ job: failed.id, input: 'abc' })}`), notSucceeded)
  t.same(failedError.details, { status: 'failed' })
  t.match(failedError.message, 'is failed')
})

t.test('models are loaded once and kept in a bounded LRU cache', async (t) => {
  const stats = () => service.app.serving.cacheStats()
  // Fill the cache (size 2) with two other models, so what follows starts from a known state.
  await predictOk(t, q({ job: jobs.poet.id, input: 'the', length: 1 }))
  await predictOk(t, q({ job: jobs.forecaster.id, input: '1,2,3' }))
  const before = stats()
  const greeter = q({ job: jobs.greeter.id, input: 'hello' })
  const shifter = q({ job: jobs.shifterOld.id, input: 'abc' })
  const sorter = q({ job: jobs.sorter.id, input: 'aaa' })
  // greeter, shifter: two loads; greeter again: a hit; sorter evicts shifter (least recent);
  // greeter: a hit; shifter: loaded again.
  for (const query of [greeter, shifter, greeter, sorter, greeter, shifter]) await predictOk(t, query)
  t.same({ hits: stats().hits - before.hits, misses: stats().misses - before.misses }, { hits: 2, misses: 4 })
  // These tiny models run on the main thread; larger ones (earlier tests) sit in the worker.
  t.ok(stats().models <= 4, 'never more than MODEL_CACHE_SIZE models per cache (the main thread and one worker)')
  t.equal((await predictOk(t, greeter)).output, 'elloh', 'each job still gets its own model after evictions')
  t.equal((await predictOk(t, shifter)).output, 'bca')
  t.equal((await predictOk(t, sorter)).label, 'as')
})

interface BatchBody {
  job: string
  model: string
  task: string
  predictions: { input: unknown; output: unknown; label?: string; probabilities?: Record<string, number>; seed?: number }[]
}

async function batchOk(t: TapTest, body: unknown): Promise<BatchBody> {
  const response = await service.postJson('/predict', body)
  const parsed = (await response.json()) as BatchBody
  t.equal(response.status, 200, `POST /predict ${JSON.stringify(parsed).slice(0, 200)}`)
  return parsed
}

t.test('POST /predict: one prediction per input, strings and numeric arrays', async (t) => {
  const pairs = await batchOk(t, { model: 'greeter', inputs: ['hello', 'hell', 'oleh'] })
  t.same(pairs.job, jobs.greeter.id)
  t.equal(pairs.task, 'pairs')
  t.same(pairs.predictions.map((p) => p.input), ['hello', 'hell', 'oleh'])
  t.equal(pairs.predictions[0]!.output, 'elloh')
  for (const p of pairs.predictions.slice(1)) {
    const single = await predictOk(t, q({ model: 'greeter', input: p.input as string }))
    t.equal(p.output, single.output, `batch entry ${String(p.input)} equals GET`)
  }

  const history = sineSeries(24, 5, 10)
  const series = await batchOk(t, { job: jobs.forecaster.id, inputs: [history, history.slice(0, 12), history.join(',')], horizon: 2 })
  t.equal(series.predictions.length, 3)
  t.ok(series.predictions.every((p) => Array.isArray(p.output) && (p.output as number[]).length === 2), 'horizon numbers each')
  t.same(series.predictions[0]!.input, history, 'the input echoed as given')
  t.same(series.predictions[2]!.output, series.predictions[0]!.output, 'an array and its comma-separated text agree')

  const rows = sineCosine.slice(0, 16)
  const multi = await batchOk(t, { model: 'pair-forecaster', inputs: [rows] })
  t.same((multi.predictions[0]!.output as number[][]).map((r) => r.length), [2, 2])

  const classes = await batchOk(t, { model: 'sorter', inputs: ['aaa', 'bbbb'] })
  t.same(classes.predictions.map((p) => p.label), ['as', 'bs'])

  const text = await batchOk(t, { job: jobs.poet.id, inputs: ['the', 'cat'], length: 20, seed: 40 })
  t.same(text.predictions.map((p) => p.seed), [40, 41], 'entry i uses seed + i')
  for (const p of text.predictions) {
    const single = await predictOk(t, q({ job: jobs.poet.id, input: p.input as string, length: 20, seed: p.seed! }))
    t.equal(p.output, single.output, 'the same text as GET with that seed')
  }
})

t.test('POST /predict errors: batch limit, bad entries, selection', async (t) => {
  const tooMany = await readError(t, await service.postJson('/predict', { model: 'greeter', inputs: ['hello', 'hello', 'hello', 'hello', 'hello'] }), validationFailed)
  t.equal(tooMany.message, 'body/inputs must NOT have more than 4 items')
  const none = await readError(t, await service.postJson('/predict', { model: 'greeter', inputs: [] }), validationFailed)
  t.equal(none.message, 'body/inputs must NOT have fewer than 1 items')
  const typo = await readError(t, await service.postJson('/predict', { model: 'greeter', input: ['hello'] }), { ...BAD_REQUEST, code: 'unknown_field' })
  t.match(typo.message, 'body has unknown field "input"')
  const numbersToPairs = await readError(t, await service.postJson('/predict', { model: 'greeter', inputs: [[1, 2]] }), invalidInput)
  t.equal(numbersToPairs.message, 'this pairs model takes strings, not numbers')
  const oneBad = await readError(t, await service.postJson('/predict', { model: 'greeter', inputs: ['hello', 'hexx'] }), unknownCharacters)
  t.match(oneBad.message, '"x"')
  const both = await readError(t, await service.postJson('/predict', { job: jobs.greeter.id, model: 'greeter', inputs: ['hello'] }), validationFailed)
  t.match(both.message, 'exactly one of job')
  await readError(t, await service.postJson('/predict', { job: 'nope', inputs: ['hello'] }), { statusCode: 404, code: 'job_not_found', error: 'Not Found' })
  const long = await readError(t, await service.postJson('/predict', { job: jobs.poet.id, inputs: ['the'], length: 301 }), validationFailed)
  t.equal(long.message, 'body/length must be <= 300')
  const text = await service.fetch('/predict', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' })
  await readError(t, text, { statusCode: 415, code: 'unsupported_media_type', error: 'Unsupported Media Type' })
})
