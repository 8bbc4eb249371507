import t from 'tap'
import { Type } from 'typebox'
import type { App } from '../../src/app.js'
import { errorResponses, jsonResponse, Nullable, StrictObject, TaggedUnion } from '../../src/http/schemas/common.js'
import { readError, startServer, type TestServer } from '../helpers/server.js'

/**
 * A test-only route shaped like POST /jobs, to exercise the Ajv settings: unknown fields
 * rejected (not stripped), no coercion of JSON bodies, coercion of query strings,
 * defaults filled in, messages naming the field.
 */
function registerJobLikeRoute(app: App): void {
  const { limits } = app.config
  const body = StrictObject({
    name: Type.Optional(Type.String({ minLength: 1 })),
    model: StrictObject({
      type: Type.Enum(['rnn', 'lstm', 'gru']),
      hidden_size: Type.Integer({ minimum: 1, maximum: limits.maxHiddenSize, default: 8 }),
      nonlinearity: Type.Optional(Type.Union([Type.Literal('tanh'), Type.Literal('relu')])),
    }),
    training: Type.Optional(
      StrictObject(
        {
          epochs: Type.Integer({ minimum: 1, maximum: limits.maxEpochs, default: 100 }),
          clip_grad_norm: Type.Optional(Nullable(Type.Number({ exclusiveMinimum: 0 }))),
        },
        { default: {} },
      ),
    ),
    data: TaggedUnion('type', [
      StrictObject({ type: Type.Literal('pairs'), pairs: Type.Array(StrictObject({ input: Type.String(), target: Type.String() })) }),
      StrictObject({ type: Type.Literal('text'), text: Type.String(), seq_len: Type.Integer({ minimum: 1, maximum: limits.maxSeqLen, default: 32 }) }),
    ]),
  })
  const querystring = StrictObject({
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    status: Type.Optional(Type.Array(Type.Enum(['queued', 'running']))),
  })
  app.post(
    '/test/jobs',
    {
      schema: {
        operationId: 'echoJobLike',
        summary: 'Echoes a validated job-like body',
        tags: ['jobs'],
        body,
        querystring,
        response: { 200: jsonResponse('Echo', Type.Object({ body: Type.Unknown(), query: Type.Unknown() })), ...errorResponses(400) },
      },
    },
    async (request) => ({ body: request.body, query: request.query }),
  )
  app.get(
    '/test/items/:index',
    {
      schema: {
        operationId: 'getItem',
        summary: 'Typed path parameter',
        tags: ['jobs'],
        params: StrictObject({ index: Type.Integer({ minimum: 0 }) }),
        response: { 200: jsonResponse('The index', Type.Object({ index: Type.Integer() })), ...errorResponses(400) },
      },
    },
    async (request) => ({ index: request.params.index }),
  )
}

const validJob = {
  model: { type: 'rnn' },
  data: { type: 'pairs', pairs: [{ input: 'hello', target: 'elloh' }] },
}

async function start(t: Parameters<typeof startServer>[0]): Promise<TestServer> {
  return startServer(t, { setup: registerJobLikeRoute })
}

const problemsOf = (details: unknown) => (details as { problems: { field: string; message: string }[] }).problems

t.test('a valid body passes, with schema defaults filled in', async (t) => {
  const server = await start(t)
  const response = await server.postJson('/test/jobs', validJob)
  t.equal(response.status, 200)
  const { body } = (await response.json()) as { body: unknown }
  t.same(body, {
    model: { type: 'rnn', hidden_size: 8 },
    training: { epochs: 100 },
    data: { type: 'pairs', pairs: [{ input: 'hello', target: 'elloh' }] },
  })
})

t.test('an unknown nested field -> 400 unknown_field naming it (not silently stripped)', async (t) => {
  const server = await start(t)
  const response = await server.postJson('/test/jobs', { ...validJob, training: { epoch: 5 } })
  const body = await readError(t, response, { statusCode: 400, code: 'unknown_field', error: 'Bad Request' })
  t.equal(body.message, 'body/training has unknown field "epoch"')
  t.same(problemsOf(body.details), [{ field: 'body/training', message: 'has unknown field "epoch"' }])
})

t.test('an unknown top-level field -> 400 unknown_field', async (t) => {
  const server = await start(t)
  const response = await server.postJson('/test/jobs', { ...validJob, modle: {} })
  const body = await readError(t, response, { statusCode: 400, code: 'unknown_field', error: 'Bad Request' })
  t.equal(body.message, 'body has unknown field "modle"')
})

t.test('a wrong type in a JSON body is an error, not coerced', async (t) => {
  const server = await start(t)
  const response = await server.postJson('/test/jobs', { ...validJob, model: { type: 'rnn', hidden_size: '8' } })
  const body = await readError(t, response, { statusCode: 400, code: 'validation_failed', error: 'Bad Request' })
  t.equal(body.message, 'body/model/hidden_size must be integer')
})

t.test('a value over a configured limit names the field and the limit', async (t) => {
  const server = await start(t)
  const response = await server.postJson('/test/jobs', { ...validJob, model: { type: 'rnn', hidden_size: 4096 } })
  const body = await readError(t, response, { statusCode: 400, code: 'validation_failed', error: 'Bad Request' })
  t.equal(body.message, `body/model/hidden_size must be <= ${server.app.config.limits.maxHiddenSize}`)
})

t.test('enums, literal unions, nullable numbers and missing fields read clearly', async (t) => {
  const server = await start(t)
  const response = await server.postJson('/test/jobs', {
    model: { type: 'transformer', nonlinearity: 'sigmoid' },
    training: { clip_grad_norm: -1 },
    data: { type: 'text' },
  })
  const body = await readError(t, response, { statusCode: 400, code: 'validation_failed', error: 'Bad Request' })
  t.same(problemsOf(body.details), [
    { field: 'body/model/type', message: 'must be one of "rnn", "lstm", "gru"' },
    { field: 'body/model/nonlinearity', message: 'must be one of "tanh", "relu"' },
    { field: 'body/training/clip_grad_norm', message: 'must be > 0 or null' },
    { field: 'body/data/text', message: 'is required' },
  ])
  t.equal(
    body.message,
    'body/model/type must be one of "rnn", "lstm", "gru"; body/model/nonlinearity must be one of "tanh", "relu"; ' +
      'body/training/clip_grad_norm must be > 0 or null; body/data/text is required',
  )
})

t.test('a tagged union reports the allowed tags, or only the chosen branch', async (t) => {
  const server = await start(t)
  const unknownTag = await server.postJson('/test/jobs', { ...validJob, data: { type: 'audio' } })
  const first = await readError(t, unknownTag, { statusCode: 400, code: 'validation_failed', error: 'Bad Request' })
  t.equal(first.message, 'body/data/type must be one of "pairs", "text"')

  const missingTag = await server.postJson('/test/jobs', { ...validJob, data: { text: 'abc' } })
  const second = await readError(t, missingTag, { statusCode: 400, code: 'validation_failed', error: 'Bad Request' })
  t.equal(second.message, 'body/data/type is required')

  const branch = await server.postJson('/test/jobs', { ...validJob, data: { type: 'text', text: 'abc', seq_len: 5000, extra: 1 } })
  const third = await readError(t, branch, { statusCode: 400, code: 'unknown_field', error: 'Bad Request' })
  t.equal(third.message, 'body/data has unknown field "extra"; body/data/seq_len must be <= 1024')
})

t.test('many problems are summarised, all listed in details up to a cap', async (t) => {
  const server = await start(t)
  const pairs = Array.from({ length: 50 }, () => ({ input: 1, target: 2 }))
  const response = await server.postJson('/test/jobs', { ...validJob, data: { type: 'pairs', pairs } })
  const body = await readError(t, response, { statusCode: 400, code: 'validation_failed', error: 'Bad Request' })
  t.match(body.message, /^body\/data\/pairs\/0\/input must be string; .* \(and 95 more\)$/)
  t.equal(problemsOf(body.details).length, 20)
})

t.test('query strings are coerced from text and checked for unknown keys', async (t) => {
  const server = await start(t)
  const ok = await server.postJson('/test/jobs?limit=5&status=queued', validJob)
  t.equal(ok.status, 200)
  t.same(((await ok.json()) as { query: unknown }).query, { limit: 5, status: ['queued'] }, '"5" -> 5, one value -> array')

  const typo = await server.postJson('/test/jobs?limt=5', validJob)
  const unknown = await readError(t, typo, { statusCode: 400, code: 'unknown_field', error: 'Bad Request' })
  t.equal(unknown.message, 'querystring has unknown field "limt"')

  const wrong = await server.postJson('/test/jobs?limit=ten', validJob)
  const invalid = await readError(t, wrong, { statusCode: 400, code: 'validation_failed', error: 'Bad Request' })
  t.equal(invalid.message, 'querystring/limit must be integer')
})

t.test('path parameters are coerced and validated', async (t) => {
  const server = await start(t)
  const ok = await server.fetch('/test/items/7')
  t.same(await ok.json(), { index: 7 })
  const bad = await server.fetch('/test/items/-1')
  const body = await readError(t, bad, { statusCode: 400, code: 'validation_failed', error: 'Bad Request' })
  t.equal(body.message, 'params/index must be >= 0')
})
