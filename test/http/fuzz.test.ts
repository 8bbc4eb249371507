import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import t from 'tap'
import { loadConfig, type Config, type Limits } from '../../src/config.js'
import { JOB_STATUSES } from '../../src/storage/types.js'
import {
  applyMutations, applyTextEdits, bodyContentType, bodyFraming, headerValue, HTTP_METHODS, jobBodyBytes, mutation, nastyString,
  numberLikeString, pathId, queryEntries, queryString, randomHeaders, RawJson, textEdit, toJsonText, weirdValue, withBody, type Header,
} from '../helpers/fuzz.js'
import { Fuzzer, jsonHeaders, post, reportOutsideTheApp, startFuzzTarget } from '../helpers/fuzz-target.js'
import { classesJob, seriesJob, sineSeries, TEXT_CORPUS, textJob, tutorialJob } from '../helpers/jobs.js'
import { assembledRequest, HANDCRAFTED, methodOf } from '../helpers/raw-cases.js'
import { percentEncode, serializeRequest, type RawRequest } from '../helpers/raw-http.js'
import type { TapTest } from '../helpers/server.js'
import { tempDir } from '../helpers/service.js'

/**
 * Fuzzing every route of a real server (real SQLite file, the runner training on one worker
 * thread) with random and malformed bodies, query strings, path parameters, headers and raw
 * HTTP bytes. Every answer must be below 500, every error must have the one error shape,
 * the server must keep answering /healthz, and afterwards the tutorial job still trains and
 * predicts "elloh".
 *
 * The run is bounded by a fixed number of requests per pass (`numRuns`), generated from one
 * fixed seed, so CI sends the same requests every time. On a failure fast-check prints the
 * seed, the path and the shrunk counterexample, and the message below it names the request,
 * the answer and the server's error log. FUZZ_SEED=<seed> replays a run (job ids differ,
 * the requests' shapes do not); FUZZ_SCALE multiplies every pass's runs for a longer hunt
 * (FUZZ_SCALE=10 sends about 10 times as many requests).
 */

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_127)
const SCALE = Number(process.env.FUZZ_SCALE ?? 1)
const runs = (n: number) => Math.max(1, Math.round(n * SCALE))

/** Small limits, so random jobs that are accepted train in well under a second. */
const LIMITS: Partial<Limits> = {
  maxBodyBytes: 64 * 1024,
  maxDatasetChars: 256,
  maxSeriesPoints: 256,
  maxExamples: 16,
  maxHiddenSize: 16,
  maxNumLayers: 2,
  maxEpochs: 200, // the tutorial needs 200
  maxSeqLen: 16,
  maxPredictLength: 64,
  maxPredictBatch: 16,
}

/** Accepted random jobs allowed to train (to exercise the engine on odd settings); later ones are cancelled at once. */
const TRAINED_RANDOM_JOBS = 6

const NO_JOB = '01J9Z3V4K6TQ8M2X5C7B9D1F3H'
const FINISHED = new Set(['succeeded', 'failed', 'cancelled'])

/** fast-check settings of a pass: the fixed seed and an explicit run count. */
function settings(numRuns: number): fc.Parameters<unknown> {
  return { seed: SEED, numRuns: runs(numRuns) }
}

// ---------------------------------------------------------------------------------------
// What the passes share: trained models to predict with, and the jobs the fuzzer created

interface TrainedModel {
  id: string
  name: string
  kind: 'pairs' | 'text' | 'series' | 'classes'
  /** Characters the model knows (empty for series). */
  vocab: string[]
  /** Values per step of a series model. */
  features: number
}

class World {
  models: TrainedModel[] = []
  accepted = new Set<string>()
  /** Accepted random jobs left to train. */
  training = new Set<string>()
  cursors = ['MQ', 'MTAw', 'bm9wZQ']

  ids(): string[] {
    return [...this.models.map((model) => model.id), ...this.accepted, NO_JOB]
  }
}

/** Models trained before fuzzing, so predict requests reach the models, not just the 404 path. */
const MODELS_TO_TRAIN: { kind: TrainedModel['kind']; body: Record<string, unknown>; vocab: string; features?: number }[] = [
  { kind: 'pairs', body: tutorialJob(), vocab: 'helo' },
  { kind: 'text', body: textJob(), vocab: TEXT_CORPUS },
  { kind: 'series', body: seriesJob(), vocab: '' },
  { kind: 'classes', body: classesJob(), vocab: 'ab' },
  // Astral characters, a control character and a lone surrogate in the vocabulary.
  { kind: 'pairs', body: tutorialJob({ name: 'unicode', data: { pairs: [{ input: 'a😀𝄞é\ud800\u0000', target: '𝄞é\ud800a😀\u0000' }] }, training: { epochs: 30 } }), vocab: 'a😀𝄞é\ud800\u0000' },
  { kind: 'series', body: seriesJob({ name: 'multi', data: { series: sineSeries(48).map((v, i) => [v, i % 4]), window: 4, horizon: 2 }, training: { epochs: 10 } }), vocab: '', features: 2 },
  // Values near the largest double: mean and std of the data overflow.
  { kind: 'series', body: seriesJob({ name: 'huge', data: { series: sineSeries(48, 1e307, 1e308), window: 4, horizon: 2 }, training: { epochs: 3 } }), vocab: '' },
  // Labels that are also names of Object.prototype members, and an emoji label.
  {
    kind: 'classes',
    body: classesJob({ name: 'protos', data: { examples: [['ab', '__proto__'], ['ba', 'constructor'], ['aa', 'toString'], ['bb', '😀'], ['a\ud800', 'hasOwnProperty']].map(([input, label]) => ({ input, label })) }, training: { epochs: 5 } }),
    vocab: 'ab\ud800',
  },
  // A deep, bidirectional, projected LSTM on text with astral characters and controls.
  {
    kind: 'text',
    body: textJob({ name: 'deep-text', model: { type: 'lstm', hidden_size: 8, num_layers: 2, bidirectional: true, dropout: 0.5, proj_size: 3 }, data: { text: 'a😀b\u0000c𝄞\n'.repeat(6), seq_len: 5 }, training: { epochs: 3, validation_split: 0.25 } }),
    vocab: 'a😀b\u0000c𝄞\n',
  },
  // A one-step window forecasting as far as the limit allows.
  { kind: 'series', body: seriesJob({ name: 'short-window', model: { type: 'rnn', nonlinearity: 'relu' }, data: { window: 1, horizon: 64 }, training: { epochs: 3 } }), vocab: '' },
]

async function waitForEnd(fuzzer: Fuzzer, id: string, timeoutMs = 60_000): Promise<any> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const { status, body } = await fuzzer.json({ method: 'GET', target: `/jobs/${id}` })
    if (status !== 200) throw new Error(`GET /jobs/${id} -> ${status}`)
    if (FINISHED.has(body.status)) return body
    if (Date.now() > deadline) throw new Error(`job ${id} still ${body.status} after ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

async function trainModels(t: TapTest, fuzzer: Fuzzer, world: World): Promise<void> {
  for (const { kind, body, vocab, features = 1 } of MODELS_TO_TRAIN) {
    const { status, body: job } = await fuzzer.json(post('/jobs', body))
    if (status !== 202) throw new Error(`POST /jobs ${JSON.stringify(body).slice(0, 200)} -> ${status} ${JSON.stringify(job)}`)
    const ended = await waitForEnd(fuzzer, job.id)
    t.comment(`trained ${job.name} (${kind}): ${ended.status}${ended.error ? ` ${ended.error.code}` : ''}`)
    if (ended.status === 'succeeded') world.models.push({ id: job.id, name: job.name, kind, vocab: [...vocab], features })
  }
}

// ---------------------------------------------------------------------------------------
// Pieces of requests

const FUZZ_LIMITS = fuzzConfig(tmpdir()).limits
const jobBody = jobBodyBytes(FUZZ_LIMITS)

/** An input for a model: mostly from its vocabulary (or numbers for series), sometimes with strangers. */
function modelInput(model: TrainedModel): fc.Arbitrary<string> {
  if (model.kind === 'series') {
    const value = fc.oneof(
      { weight: 20, arbitrary: fc.double({ min: -10, max: 10, noNaN: true }).map(String) },
      { weight: 1, arbitrary: numberLikeString },
      { weight: 1, arbitrary: fc.constantFrom('1e308', '-1e308', '5e-324') },
    )
    // "1,2,3" is one value per step; "1,2;3,4" is rows of a multivariate series.
    const width = model.features
    const steps = fc.array(value, { minLength: 1, maxLength: 20 }).map((values) => values.join(','))
    const rows = (min: number, max: number) => fc.array(fc.array(value, { minLength: min, maxLength: max }).map((values) => values.join(',')), { minLength: 1, maxLength: 8 }).map((list) => list.join(';'))
    return fc.oneof(
      { weight: 8, arbitrary: width === 1 ? fc.oneof(steps, rows(1, 1)) : rows(2, 2) },
      { weight: 1, arbitrary: rows(0, 3) },
      { weight: 1, arbitrary: nastyString },
    )
  }
  const known = fc.constantFrom(...model.vocab)
  return fc.oneof(
    { weight: 16, arbitrary: fc.array(known, { minLength: 1, maxLength: 24 }).map((list) => list.join('')) },
    { weight: 2, arbitrary: fc.array(fc.oneof(known, fc.constantFrom('😀', '\ud800', '\udc00', 'Z', '\u0000')), { minLength: 1, maxLength: 12 }).map((list) => list.join('')) },
    { weight: 1, arbitrary: nastyString },
  )
}

// ---------------------------------------------------------------------------------------
// The passes: one fc.assert each, with the fixed seed and an explicit number of runs

async function fuzzSubmissions(fuzzer: Fuzzer, world: World): Promise<void> {
  const submission = fc.record({ body: jobBody, contentType: bodyContentType, chunks: bodyFraming, headers: randomHeaders() })
  await fc.assert(fc.asyncProperty(submission, async ({ body, contentType, chunks, headers }) => {
    const response = await fuzzer.send(withBody({ method: 'POST', target: '/jobs', headers }, body, contentType, chunks))
    if (response.status !== 202) return
    const { id } = JSON.parse(response.body.toString('utf8')) as { id: string }
    if (world.accepted.has(id)) return
    world.accepted.add(id)
    if (world.training.size < TRAINED_RANDOM_JOBS) {
      world.training.add(id)
      return
    }
    const cancel = await fuzzer.send({ method: 'POST', target: `/jobs/${id}/cancel` })
    if (cancel.status !== 202 && cancel.status !== 409) throw new Error(`cancelling ${id} -> ${cancel.status}`)
  }), settings(7200))
}

/** Sampling options: mostly in range (so the model runs), sometimes at or past the edges, sometimes not numbers. */
const SAMPLING_RANGES = {
  length: fc.integer({ min: 1, max: 64 }),
  temperature: fc.oneof(fc.double({ min: 0, max: 10, noNaN: true }), fc.constantFrom(0, 1e-300, 5e-324, 10)),
  top_k: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constant(100_000)),
  seed: fc.oneof(fc.nat(), fc.constantFrom(0, 4294967295)),
  horizon: fc.integer({ min: 1, max: 64 }),
}
type SamplingOption = keyof typeof SAMPLING_RANGES
const SAMPLING_OPTIONS = Object.keys(SAMPLING_RANGES) as SamplingOption[]

const outOfRange = fc.oneof(
  fc.constantFrom<unknown>(null, '5', true, [], {}, [1], -1, 0.5, 65, 4294967296, 1e308, -1e308),
  fc.constantFrom('-0', '1e999', '-1e999').map((text) => new RawJson(text)),
)

/** Sampling options of a JSON body: each present or not, in range 9 times in 10. */
const samplingOptions = fc.record(Object.fromEntries(SAMPLING_OPTIONS.map((name) => [
  name, fc.oneof({ weight: 9, arbitrary: SAMPLING_RANGES[name] as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: outOfRange }),
])) as Record<SamplingOption, fc.Arbitrary<unknown>>, { requiredKeys: [] })

/** The same options as query parameters, plus duplicates and strangers. */
const samplingQuery: fc.Arbitrary<string> = fc.tuple(
  fc.record(Object.fromEntries(SAMPLING_OPTIONS.map((name) => [
    name, fc.oneof({ weight: 9, arbitrary: (SAMPLING_RANGES[name] as fc.Arbitrary<number>).map(String) }, { weight: 1, arbitrary: numberLikeString }),
  ])) as Record<SamplingOption, fc.Arbitrary<string>>, { requiredKeys: [] }),
  fc.oneof({ weight: 4, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: queryEntries(fc.constantFrom('job', 'model', 'input', ...SAMPLING_OPTIONS), fc.oneof(numberLikeString, nastyString)) }),
).map(([options, extra]) => [...Object.entries(options).map(([key, value]) => `${key}=${percentEncode(value)}`), queryString(extra)].filter(Boolean).join('&'))

/** Selects a model the usual ways, and now and then wrongly (none, both, unknown). */
function selector(model: TrainedModel, world: World): fc.Arbitrary<Record<string, string>> {
  const usual: Record<string, string>[] = [{ job: model.id }, { job: model.id }, { model: model.name }]
  const wrong: Record<string, string>[] = [{}, { job: model.id, model: model.name }, { job: NO_JOB }, { model: 'nope' }]
  return fc.oneof(
    { weight: 9, arbitrary: fc.constantFrom(...usual) },
    { weight: 1, arbitrary: fc.constantFrom(...wrong) },
    { weight: 1, arbitrary: fc.nat().map((i): Record<string, string> => ({ job: world.ids()[i % world.ids().length]! })) },
  )
}

async function fuzzPredictQueries(fuzzer: Fuzzer, world: World): Promise<void> {
  const query = fc.oneof(...world.models.map((model) => fc.record({
    selector: selector(model, world),
    input: fc.option(modelInput(model), { freq: 20 }),
    options: samplingQuery,
  })))
  await fc.assert(fc.asyncProperty(query, fc.constantFrom('GET', 'GET', 'GET', 'HEAD'), randomHeaders(), async ({ selector, input, options }, method, headers) => {
    const parts = [...Object.entries(selector).map(([key, value]) => `${key}=${percentEncode(value)}`), ...(input === null ? [] : [`input=${percentEncode(input)}`]), options]
    await fuzzer.send({ method, target: `/predict?${parts.filter(Boolean).join('&')}`, headers })
  }), settings(4000))
}

async function fuzzPredictBatches(fuzzer: Fuzzer, world: World): Promise<void> {
  const finite = fc.oneof(
    { weight: 20, arbitrary: fc.double({ min: -20, max: 20, noNaN: true }) },
    { weight: 1, arbitrary: fc.constantFrom(1e308, -1e308, 5e-324, -0, 1e21) },
  )
  /** Numbers for a series model: one per step, or rows as wide as its features. */
  const seriesInput = (model: TrainedModel): fc.Arbitrary<unknown> => {
    const width = model.features
    const rows = fc.array(fc.array(finite, { minLength: width, maxLength: width }), { minLength: 1, maxLength: 12 })
    return width === 1 ? fc.oneof({ weight: 4, arbitrary: fc.array(finite, { minLength: 1, maxLength: 30 }) }, { weight: 1, arbitrary: rows }) : rows
  }
  /** Numeric inputs of the wrong shape: ragged rows, nothing, infinities. */
  const oddNumbers = fc.oneof(
    fc.array(fc.array(finite, { minLength: 0, maxLength: 3 }), { maxLength: 8 }),
    fc.constant([]),
    fc.tuple(finite, fc.constantFrom('1e999', '-1e999')).map(([value, infinity]) => [value, new RawJson(infinity)]),
  )
  const batch = fc.oneof(...world.models.map((model) => fc.record({
    selector: selector(model, world),
    inputs: fc.oneof(
      { weight: 4, arbitrary: fc.array(model.kind === 'series' ? fc.oneof(seriesInput(model), modelInput(model)) : modelInput(model), { minLength: 1, maxLength: 4 }) },
      { weight: 1, arbitrary: fc.array(fc.oneof(modelInput(model), seriesInput(model), oddNumbers, weirdValue), { minLength: 0, maxLength: 17 }) },
    ),
    options: samplingOptions,
    edits: fc.oneof({ weight: 4, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 2 }) }),
  })))
  await fc.assert(fc.asyncProperty(batch, bodyContentType, bodyFraming, async ({ selector, inputs, options, edits }, contentType, chunks) => {
    const body = applyMutations({ ...selector, inputs, ...options }, edits)
    await fuzzer.send(withBody({ method: 'POST', target: '/predict' }, Buffer.from(toJsonText(body)), contentType, chunks))
  }), settings(4000))
}

async function fuzzJobList(fuzzer: Fuzzer, world: World): Promise<void> {
  const keys = fc.constantFrom('status', 'name', 'limit', 'cursor')
  const values = fc.oneof(
    fc.constantFrom(...JOB_STATUSES, 'QUEUED', 'done', 'greeter', 'fuzz', '0', '1', '100', '101', '-1', '1.5'),
    fc.nat().map((i) => world.cursors[i % world.cursors.length]!),
    numberLikeString,
    nastyString,
  )
  await fc.assert(fc.asyncProperty(queryEntries(keys, values), randomHeaders(), async (entries, headers) => {
    const query = queryString(entries)
    const response = await fuzzer.send({ method: 'GET', target: query ? `/jobs?${query}` : '/jobs', headers })
    if (response.status !== 200) return
    const page = JSON.parse(response.body.toString('utf8')) as { next_cursor: string | null }
    if (page.next_cursor && !world.cursors.includes(page.next_cursor)) world.cursors.push(page.next_cursor)
  }), settings(2000))
}

const JOB_ROUTES: [method: string, suffix: string][] = [['GET', ''], ['GET', '/losses'], ['GET', '/weights'], ['POST', '/cancel'], ['DELETE', ''], ['HEAD', '/losses']]

async function fuzzJobPaths(fuzzer: Fuzzer, world: World): Promise<void> {
  const request = fc.record({
    route: fc.constantFrom(...JOB_ROUTES),
    method: fc.option(fc.constantFrom(...HTTP_METHODS), { freq: 6 }),
    id: pathId(() => world.ids()),
    query: queryEntries(fc.constantFrom('format', 'id'), fc.oneof(fc.constantFrom('json', 'csv', 'CSV', 'xml', ''), nastyString)),
    headers: randomHeaders(),
    body: fc.option(fc.record({ bytes: jobBody, contentType: bodyContentType, chunks: bodyFraming }), { freq: 4 }),
  })
  await fc.assert(fc.asyncProperty(request, async ({ route: [routeMethod, suffix], method, id, query, headers, body }) => {
    const tail = queryString(query)
    const target = `/jobs/${id}${suffix}${tail ? `?${tail}` : ''}`
    const base: RawRequest = { method: method ?? routeMethod, target, headers }
    await fuzzer.send(body ? withBody(base, body.bytes, body.contentType, body.chunks) : base)
  }), settings(4800))
}

/** Routes the OpenAPI document hides or never lists: docs, the spec itself, near-misses. */
const UNDOCUMENTED = ['/openapi.json', '/ui/', '/ui/vendor/uplot/../../package.json', '/ui/%2e%2e/package.json', '/docs', '/docs/', '/docs/static/index.html', '/docs/json', '/docs/yaml', '/docs/static/../../package.json', '/docs/static/%2e%2e/%2e%2e/package.json', '/nope', '//jobs', '/jobs/', '/JOBS', '/predict/', '/healthz/', '/metrics?x=1', '/jobs?', '/?', '/%']

async function fuzzEveryRoute(fuzzer: Fuzzer, world: World): Promise<number> {
  const { body: document } = await fuzzer.json({ method: 'GET', target: '/openapi.json' })
  const operations: { method: string; path: string; query: string[] }[] = []
  for (const [path, item] of Object.entries(document.paths as Record<string, Record<string, { parameters?: { in: string; name: string }[] }>>)) {
    // An event stream of a real job stays open until the job ends, and GET /events until the
    // client leaves (test/http/events.test.ts covers them); a request here must end. Unknown ids
    // still reach the first through the authorization fuzz.
    if (path === '/jobs/{id}/events' || path === '/events') continue
    for (const [method, operation] of Object.entries(item)) {
      operations.push({ method: method.toUpperCase(), path, query: (operation.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name) })
    }
  }
  for (const path of UNDOCUMENTED) operations.push({ method: 'GET', path, query: [] })

  const request = fc.record({
    operation: fc.constantFrom(...operations),
    method: fc.option(fc.constantFrom(...HTTP_METHODS), { freq: 3 }),
    id: pathId(() => world.ids()),
    query: queryEntries(fc.oneof(fc.constantFrom('job', 'model', 'input', 'format', 'limit', 'status'), nastyString), fc.oneof(numberLikeString, nastyString, fc.constantFrom(...world.ids()))),
    headers: randomHeaders(),
    body: fc.option(fc.record({ bytes: jobBody, contentType: bodyContentType, chunks: bodyFraming }), { freq: 2 }),
  })
  await fc.assert(fc.asyncProperty(request, async ({ operation, method, id, query, headers, body }) => {
    const tail = queryString(query)
    const path = operation.path.replace('{id}', id)
    const target = tail ? `${path}${path.includes('?') ? '&' : '?'}${tail}` : path
    const base: RawRequest = { method: method ?? operation.method, target, headers }
    await fuzzer.send(body ? withBody(base, body.bytes, body.contentType, body.chunks) : base)
  }), settings(4000))
  return operations.length
}

/** Well-formed requests whose bytes the property then damages. */
function baseRequests(world: World): Buffer[] {
  const model = world.models[0]
  return [
    serializeRequest({ method: 'GET', target: '/healthz' }),
    serializeRequest({ method: 'GET', target: '/jobs?limit=1&status=succeeded' }),
    serializeRequest(post('/jobs', tutorialJob({ training: { epochs: 1 } }))),
    serializeRequest(post('/predict', { job: model?.id ?? NO_JOB, inputs: ['hello', 'hell'] })),
    serializeRequest({ method: 'GET', target: `/predict?job=${model?.id ?? NO_JOB}&input=hello`, headers: [['idempotency-key', 'k'], ['authorization', 'Bearer x']] }),
    serializeRequest({ method: 'DELETE', target: `/jobs/${NO_JOB}` }),
    serializeRequest({ method: 'POST', target: `/jobs/${model?.id ?? NO_JOB}/cancel`, headers: jsonHeaders, body: '' }),
  ]
}

async function fuzzRawBytes(fuzzer: Fuzzer, world: World): Promise<void> {
  for (const [label, bytes] of HANDCRAFTED) {
    try {
      await fuzzer.sendBytes(bytes, methodOf(bytes))
      await fuzzer.assertAlive()
    } catch (error) {
      throw new Error(`handcrafted case "${label}": ${(error as Error).message}`)
    }
  }
  const bytes = fc.oneof(
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 400 }).map((array) => Buffer.from(array)) },
    { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...baseRequests(world)), fc.array(textEdit, { minLength: 1, maxLength: 4 })).map(([base, edits]) => applyTextEdits(base, edits)) },
    { weight: 2, arbitrary: assembledRequest },
  )
  await fc.assert(fc.asyncProperty(bytes, async (request) => {
    await fuzzer.sendBytes(request, methodOf(request))
    await fuzzer.assertAlive()
  }), settings(2800))
}

// ---------------------------------------------------------------------------------------
// With API keys: random and malformed Authorization headers

const KEYS = {
  admin: 'fuzz-admin-0123456789abcdef0123',
  writer: 'fuzz-writer-0123456789abcdef012',
  reader: 'fuzz-reader-0123456789abcdef012',
  predictor: 'fuzz-predict-0123456789abcdef01',
  scraper: 'fuzz-scrape-0123456789abcdef012',
} as const
type Holder = keyof typeof KEYS
const HOLDERS = Object.keys(KEYS) as Holder[]
const SCOPES_OF: Record<Holder, string[]> = { admin: ['admin'], writer: ['jobs:write'], reader: ['jobs:read'], predictor: ['predict'], scraper: ['metrics:read'] }

/** An Authorization header and whose key it carries (null: nobody's). */
interface Credential { header: string | null; holder: Holder | null }

function flipOneCharacter(key: string, at: number): string {
  const i = at % key.length
  const replacement = key[i] === 'Z' ? 'Y' : 'Z'
  return `${key.slice(0, i)}${replacement}${key.slice(i + 1)}`
}

const credential: fc.Arbitrary<Credential> = fc.oneof(
  fc.constant({ header: null, holder: null }),
  fc.tuple(fc.constantFrom(...HOLDERS), fc.constantFrom('Bearer ', 'bearer ', 'BEARER ', 'Bearer   ')).map(([holder, scheme]) => ({ header: `${scheme}${KEYS[holder]}`, holder })),
  fc.tuple(fc.constantFrom(...HOLDERS), fc.nat()).chain(([holder, at]) => {
    const key = KEYS[holder]
    return fc.constantFrom(
      `Bearer ${key}=`, `Bearer ${key.slice(0, -1)}`, `Bearer ${key} ${key}`, `Bearer "${key}"`, `Basic ${key}`, key, `Bearer\t${key}`,
      `Bearer ${key},`, `Token ${key}`, `Bearer ${key.toUpperCase()}`, `Bearer ${flipOneCharacter(key, at)}`, `Bearer ${key}\u00e9`, `Bearer ${key.repeat(40)}`,
    ).map((header) => ({ header, holder: null }))
  }),
  fc.constantFrom('', 'Bearer', 'Bearer ', 'Bearer =', `Bearer ${'a'.repeat(1025)}`, 'Negotiate YII=', 'Digest username="x"').map((header) => ({ header, holder: null })),
  headerValue.map((header) => ({ header, holder: null })),
)

/** A path for `{id}` that routes (no bad escapes, within the 100-character parameter limit). */
const routableId = fc.oneof(fc.constant(NO_JOB), fc.uuid().map(String), nastyString.map(percentEncode).filter((id) => id.length > 0 && id.length <= 100))

async function fuzzAuthorization(fuzzer: Fuzzer): Promise<void> {
  const { body: document } = await fuzzer.json({ method: 'GET', target: '/openapi.json' })
  /** Each route with the scope it needs; null for public routes, 'any' for unknown URLs (any valid key gets the 404). */
  const routes: { method: string; path: string; scope: string | null }[] = []
  for (const [path, item] of Object.entries(document.paths as Record<string, Record<string, { 'x-required-scope'?: string }>>)) {
    for (const [method, operation] of Object.entries(item)) {
      const required = operation['x-required-scope']
      // GET /events follows until the client leaves; catch_up makes an authorized request end.
      routes.push({ method: method.toUpperCase(), path: path === '/events' ? '/events?catch_up=true' : path, scope: required ?? null })
    }
  }
  routes.push({ method: 'GET', path: '/openapi.json', scope: null }, { method: 'GET', path: '/docs/', scope: null }, { method: 'GET', path: '/nope', scope: 'any' }, { method: 'POST', path: '/jobs/{id}/nope', scope: 'any' })

  const request = fc.record({
    route: fc.constantFrom(...routes),
    id: routableId,
    credential,
    second: fc.option(headerValue, { freq: 5 }),
    body: fc.option(fc.record({ bytes: jobBody, contentType: bodyContentType }), { freq: 3 }),
  })
  await fc.assert(fc.asyncProperty(request, async ({ route, id, credential: { header, holder }, second, body }) => {
    const headers: Header[] = []
    if (header !== null) headers.push(['authorization', header])
    // Node keeps the first of repeated Authorization headers; the second must change nothing.
    if (second !== null) headers.push(['authorization', second])
    const base: RawRequest = { method: route.method, target: route.path.replace('{id}', id), headers }
    const response = await fuzzer.send(body ? withBody(base, body.bytes, body.contentType, null) : base)
    const what = `${route.method} ${route.path} with ${JSON.stringify(header)}`
    if (route.scope === null) {
      if (response.status === 401 || response.status === 403) throw new Error(`${what}: public route answered ${response.status}`)
      return
    }
    if (holder === null) {
      if (response.status !== 401) throw new Error(`${what}: expected 401, got ${response.status}`)
      if (!response.headers['www-authenticate']?.startsWith('Bearer')) throw new Error(`${what}: 401 without a Bearer challenge`)
      return
    }
    const scopes = SCOPES_OF[holder]
    const allowed = route.scope === 'any' || scopes.includes('admin') || scopes.includes(route.scope)
    if (allowed && (response.status === 401 || response.status === 403)) throw new Error(`${what}: ${holder} may call it, got ${response.status}`)
    if (!allowed && response.status !== 403) throw new Error(`${what}: ${holder} lacks ${route.scope}, expected 403, got ${response.status}`)
  }), settings(3600))
}

// ---------------------------------------------------------------------------------------

/** The configuration an operator would give a fuzz run, read from an environment like the service's own. */
function fuzzConfig(dir: string, env: Record<string, string> = {}): Config {
  const limits = Object.entries(LIMITS).map(([key, value]) => [key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase(), String(value)])
  return loadConfig({
    DATABASE_PATH: join(dir, 'fuzz.db'),
    LOG_LEVEL: 'silent',
    WORKERS: '1',
    // No rate limits, no queue cap, no load shedding: the fuzzer must reach the routes themselves.
    RATE_LIMIT_JOBS_PER_MINUTE: '0',
    RATE_LIMIT_PREDICT_PER_MINUTE: '0',
    MAX_QUEUED_JOBS: '1000000',
    MAX_EVENT_LOOP_DELAY_MS: '0',
    ...Object.fromEntries(limits),
    ...env,
  })
}

t.comment(`fuzz seed ${SEED} (FUZZ_SEED), scale ${SCALE} (FUZZ_SCALE)`)

t.test('random and malformed requests to every route never get a 5xx, and the service keeps working', async (t) => {
  const started = Date.now()
  const fuzzer = await startFuzzTarget(t, fuzzConfig(tempDir(t, 'seqserve-fuzz-')))
  const world = new World()
  await trainModels(t, fuzzer, world)
  t.ok(world.models.length >= MODELS_TO_TRAIN.length - 1, `models to predict with: ${world.models.map((model) => model.name).join(', ')}`)

  const passes: [string, () => Promise<unknown>][] = [
    ['POST /jobs bodies and headers', () => fuzzSubmissions(fuzzer, world)],
    ['GET /predict query strings', () => fuzzPredictQueries(fuzzer, world)],
    ['POST /predict batches', () => fuzzPredictBatches(fuzzer, world)],
    ['GET /jobs query strings', () => fuzzJobList(fuzzer, world)],
    ['/jobs/{id} paths, methods and bodies', () => fuzzJobPaths(fuzzer, world)],
    ['every route in the OpenAPI document and a few outside it', () => fuzzEveryRoute(fuzzer, world)],
    ['raw bytes', () => fuzzRawBytes(fuzzer, world)],
  ]
  for (const [name, pass] of passes) {
    const before = fuzzer.sent
    const passStarted = Date.now()
    fuzzer.takeStatuses()
    await pass()
    const statuses = fuzzer.takeStatuses()
    await fuzzer.assertAlive()
    t.pass(`${name}: ${fuzzer.sent - before} requests in ${Date.now() - passStarted} ms, /healthz still answers`)
    t.comment(`  statuses: ${statuses}`)
  }
  t.comment(`accepted ${world.accepted.size} random jobs, ${world.training.size} of them left to train`)

  // Random jobs that were accepted may train for a while; none may crash the worker.
  for (const id of world.training) {
    const { status, body: job } = await fuzzer.json({ method: 'GET', target: `/jobs/${id}` })
    if (status === 404) continue // deleted by a fuzzed DELETE /jobs/{id}
    if (!FINISHED.has(job.status)) await fuzzer.send({ method: 'POST', target: `/jobs/${id}/cancel` })
    const ended = await waitForEnd(fuzzer, id)
    t.not(ended.error?.code, 'training_error', `random job ${id} ended ${ended.status}${ended.error ? ` (${ended.error.code}: ${ended.error.message})` : ''}`)
  }

  const { status, body: job } = await fuzzer.json(post('/jobs', tutorialJob()))
  t.equal(status, 202, 'the tutorial job is accepted after the fuzzing')
  const ended = await waitForEnd(fuzzer, job.id)
  t.equal(ended.status, 'succeeded', 'and trains to the end')
  const { status: predictStatus, body: prediction } = await fuzzer.json({ method: 'GET', target: `/predict?job=${job.id}&input=hello` })
  t.equal(predictStatus, 200, 'GET /predict on it answers 200')
  t.equal(prediction.output, 'elloh', 'and maps hello to elloh')
  reportOutsideTheApp(t, fuzzer)
  t.comment(`${fuzzer.sent} requests in ${Date.now() - started} ms`)
})

t.test('with API keys, random and malformed Authorization headers get 401 or 403 in the error shape, never a 5xx', async (t) => {
  const started = Date.now()
  const apiKeys = JSON.stringify(Object.fromEntries(HOLDERS.map((holder) => [KEYS[holder], SCOPES_OF[holder]])))
  const fuzzer = await startFuzzTarget(t, fuzzConfig(tempDir(t, 'seqserve-fuzz-keys-'), { API_KEYS: apiKeys }))
  await fuzzAuthorization(fuzzer)
  await fuzzer.assertAlive()
  reportOutsideTheApp(t, fuzzer)
  t.pass(`${fuzzer.sent} requests in ${Date.now() - started} ms, /healthz still answers`)
})

t.test('what the fuzzer found stays fixed', async (t) => {
  const fuzzer = await startFuzzTarget(t, fuzzConfig(tempDir(t, 'seqserve-fuzz-found-')))
  const train = async (body: Record<string, unknown>) => {
    const { status, body: job } = await fuzzer.json(post('/jobs', body))
    t.equal(status, 202, `${String(body.name)} is accepted`)
    t.equal((await waitForEnd(fuzzer, job.id)).status, 'succeeded', `${String(body.name)} trains`)
    return job as { id: string; model: Record<string, unknown>; training: Record<string, unknown> }
  }
  const errorOf = async (request: RawRequest) => {
    const { status, body } = await fuzzer.json(request)
    return { status, code: body.code as string, message: body.message as string }
  }

  // Defaults above a lowered limit (hidden_size 64 > MAX_HIDDEN_SIZE 16, seq_len 32 >
  // MAX_SEQ_LEN 16, length 100 > MAX_PREDICT_LENGTH 64) failed every request that left them out.
  const text = await train({ name: 'defaults', model: { type: 'gru' }, data: { type: 'text', text: TEXT_CORPUS }, training: { epochs: 2 } })
  t.equal(text.model.hidden_size, LIMITS.maxHiddenSize, 'hidden_size defaults to MAX_HIDDEN_SIZE when that is below 64')
  const greeter = await train(tutorialJob())
  const { status, body } = await fuzzer.json({ method: 'GET', target: `/predict?job=${greeter.id}&input=hello` })
  t.same({ status, output: body.output }, { status: 200, output: 'elloh' }, 'GET /predict without length works below the default length')

  // Ajv coerced "Infinity" and "1e999" to numbers that skipped minimum/maximum: horizon=Infinity forecast forever.
  const series = await train(seriesJob({ training: { epochs: 2 } }))
  for (const query of [`job=${series.id}&input=1,2&horizon=Infinity`, `job=${text.id}&input=the&length=1e999`, `job=${text.id}&input=the&seed=-Infinity`]) {
    t.match(await errorOf({ method: 'GET', target: `/predict?${query}` }), { status: 400, code: 'validation_failed', message: /must be a finite number/ }, query)
  }
  t.match(await errorOf({ method: 'GET', target: '/jobs?limit=Infinity' }), { status: 400, code: 'validation_failed' }, 'GET /jobs?limit=Infinity')

  // A forecast that overflows to NaN/Infinity failed response serialization with a 500; now
  // it is a 400 invalid_input, or a finite forecast. Data near 1e308 used to standardise to
  // all zeros (the squared deviations overflowed); test/engine/tasks.test.ts pins that fix.
  const huge = await train(seriesJob({ name: 'huge', data: { series: sineSeries(48, 1e307, 1e308), window: 4, horizon: 2 }, training: { epochs: 3 } }))
  for (const input of ['-1e308,1e308', sineSeries(48, 1e307, 1e308).slice(0, 4).join(','), '1.7e308,1.7e308,1.7e308,1.7e308']) {
    const forecast = await fuzzer.json({ method: 'GET', target: `/predict?job=${huge.id}&input=${input}` })
    const body = forecast.body as { code?: string; output?: number[] }
    if (forecast.status === 200) t.ok(body.output!.every(Number.isFinite), `${input}: a finite forecast`)
    else t.match({ status: forecast.status, code: body.code }, { status: 400, code: 'invalid_input' }, `${input}: an overflowing forecast is a 400`)
  }

  // "must be must NOT have fewer than 1 characters or array"
  t.match(await errorOf(post('/predict', { job: greeter.id, inputs: [''] })), { status: 400, message: 'body/inputs/0 must NOT have fewer than 1 characters or be array' }, 'an empty input string is described in words')
})
