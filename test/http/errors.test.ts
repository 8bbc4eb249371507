import t from 'tap'
import { Type } from 'typebox'
import type { App } from '../../src/app.js'
import { ERROR_CATALOGUE, httpError } from '../../src/http/errors.js'
import { errorResponses, jsonResponse, StrictObject } from '../../src/http/schemas/common.js'
import { testConfig } from '../helpers/config.js'
import { captureLogs } from '../helpers/logs.js'
import { readError, startServer } from '../helpers/server.js'

const SECRET = 'SQLITE_CORRUPT: database disk image is malformed at /var/lib/secret.db'

/** Test-only routes that fail in the ways real routes will. */
function registerFailingRoutes(app: App): void {
  const schema = (summary: string) => ({
    operationId: `test${summary.replace(/[^A-Za-z0-9]/g, '')}`,
    summary,
    tags: ['jobs'],
    response: { 200: jsonResponse('OK', Type.Object({ ok: Type.Boolean() })), ...errorResponses(400, 404, 429, 500, 503) },
  })
  app.get('/test/internal', { schema: schema('throws a plain Error') }, async () => {
    throw new Error(SECRET)
  })
  app.get('/test/job/:id', {
    schema: { ...schema('throws httpError'), params: StrictObject({ id: Type.String() }) },
  }, async (request) => {
    throw httpError('job_not_found', `No job with id ${request.params.id}`)
  })
  app.get('/test/queue-full', { schema: schema('throws a 5xx AppError') }, async () => {
    throw httpError('queue_full', 'The job queue is full (1000 jobs queued); retry later', { queued: 1000 })
  })
  app.get('/test/plugin-429', { schema: schema('throws like a plugin') }, async () => {
    throw Object.assign(new Error('Rate limit exceeded, retry in 1 minute'), {
      statusCode: 429,
      headers: { 'retry-after': '60' },
    })
  })
  app.post('/test/echo', {
    schema: { ...schema('accepts JSON'), body: StrictObject({ text: Type.String() }) },
  }, async () => ({ ok: true }))
}

t.test('unknown route -> 404 not_found in the error shape', async (t) => {
  const server = await startServer(t)
  const body = await readError(t, await server.fetch('/no/such/route?x=1'), {
    statusCode: 404,
    code: 'not_found',
    error: 'Not Found',
  })
  t.equal(body.message, 'No route for GET /no/such/route')
})

t.test('httpError from a route -> the catalogue status with the thrown message', async (t) => {
  const server = await startServer(t, { setup: registerFailingRoutes })
  const body = await readError(t, await server.fetch('/test/job/abc'), {
    statusCode: 404,
    code: 'job_not_found',
    error: 'Not Found',
  })
  t.equal(body.message, 'No job with id abc')
  t.equal(body.details, undefined, 'no details unless given')
})

t.test('a 5xx AppError keeps its client-facing message and details', async (t) => {
  const server = await startServer(t, { setup: registerFailingRoutes })
  const body = await readError(t, await server.fetch('/test/queue-full'), {
    statusCode: 503,
    code: 'queue_full',
    error: 'Service Unavailable',
  })
  t.equal(body.message, 'The job queue is full (1000 jobs queued); retry later')
  t.same(body.details, { queued: 1000 })
})

t.test('a thrown internal error -> 500 with a generic message; the real one is logged', async (t) => {
  const logs = captureLogs()
  const server = await startServer(t, { setup: registerFailingRoutes, logger: logs.logger })
  const response = await server.fetch('/test/internal')
  const requestId = response.headers.get('x-request-id')
  const body = await readError(t, response, {
    statusCode: 500,
    code: 'internal',
    error: 'Internal Server Error',
  })
  t.equal(body.message, ERROR_CATALOGUE.internal.message)
  t.notMatch(JSON.stringify(body), /SQLITE|secret|malformed/, 'nothing of the thrown error leaks')

  const logged = logs.lines().find((line) => line.msg === 'request failed')
  t.ok(logged, 'the failure is logged')
  t.equal(logged?.level, 50, 'at error level')
  t.equal(logged?.reqId, requestId, 'with the request id')
  t.match((logged?.err as { message?: string } | undefined)?.message, SECRET, 'with the real message')
  t.match((logged?.err as { stack?: string } | undefined)?.stack, /errors\.test\.ts/, 'and its stack')
})

t.test('a client error thrown by a plugin keeps its status, message and headers', async (t) => {
  const server = await startServer(t, { setup: registerFailingRoutes })
  const response = await server.fetch('/test/plugin-429')
  t.equal(response.headers.get('retry-after'), '60')
  const body = await readError(t, response, {
    statusCode: 429,
    code: 'rate_limited',
    error: 'Too Many Requests',
  })
  t.equal(body.message, 'Rate limit exceeded, retry in 1 minute')
})

t.test('malformed JSON -> 400 invalid_json', async (t) => {
  const server = await startServer(t, { setup: registerFailingRoutes })
  const body = await readError(t, await server.postJson('/test/echo', '{"text": "unterminated'), {
    statusCode: 400,
    code: 'invalid_json',
    error: 'Bad Request',
  })
  t.equal(body.message, 'Request body is not valid JSON')
})

t.test('an empty JSON body -> 400 invalid_json', async (t) => {
  const server = await startServer(t, { setup: registerFailingRoutes })
  const body = await readError(t, await server.postJson('/test/echo', ''), {
    statusCode: 400,
    code: 'invalid_json',
    error: 'Bad Request',
  })
  t.match(body.message, /empty/)
})

t.test('a body that is not JSON -> 415 unsupported_media_type naming the type', async (t) => {
  const server = await startServer(t, { setup: registerFailingRoutes })
  for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
    const response = await server.fetch('/test/echo', {
      method: 'POST',
      headers: { 'content-type': `${contentType}; charset=utf-8` },
      body: 'text=hello',
    })
    const body = await readError(t, response, {
      statusCode: 415,
      code: 'unsupported_media_type',
      error: 'Unsupported Media Type',
    })
    t.equal(body.message, `Content-Type ${contentType} is not supported; send application/json`)
  }
})

t.test('a body over MAX_BODY_BYTES -> 413 payload_too_large stating the limit', async (t) => {
  const limit = 2048
  const server = await startServer(t, {
    config: testConfig({ limits: { maxBodyBytes: limit } }),
    setup: registerFailingRoutes,
  })
  const fits = await server.postJson('/test/echo', { text: 'x'.repeat(limit - 20) })
  t.equal(fits.status, 200, 'a body just under the limit is accepted')
  await fits.arrayBuffer()

  const body = await readError(t, await server.postJson('/test/echo', { text: 'x'.repeat(limit) }), {
    statusCode: 413,
    code: 'payload_too_large',
    error: 'Payload Too Large',
  })
  t.equal(body.message, `Request body exceeds the limit of ${limit} bytes (MAX_BODY_BYTES)`)
  t.same(body.details, { limit_bytes: limit })
})

t.test('httpError builds catalogue errors', async (t) => {
  const error = httpError('idempotency_mismatch')
  t.equal(error.statusCode, 422)
  t.equal(error.code, 'idempotency_mismatch')
  t.equal(error.message, ERROR_CATALOGUE.idempotency_mismatch.message, 'default message from the catalogue')
  t.same(httpError('job_active', 'Job j1 is running', { status: 'running' }).toBody(), {
    statusCode: 409,
    code: 'job_active',
    error: 'Conflict',
    message: 'Job j1 is running',
    details: { status: 'running' },
  })
  for (const [code, entry] of Object.entries(ERROR_CATALOGUE)) {
    t.match(code, /^[a-z]+(_[a-z]+)*$/, `${code} is lowercase snake_case`)
    t.ok(entry.statusCode >= 400 && entry.statusCode < 600, `${code} has an error status`)
  }
})
