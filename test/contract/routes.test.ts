/**
 * Every route, its success and error paths, through a validating proxy built from the
 * served document (Prism 5.14 `proxy`, a third-party tool): the server's answers must
 * contradict /openapi.json nowhere (0 response violations), the README's requests must be
 * valid requests for it (0 request violations), and every error body must have the shape
 * of the documented example of its code. Open mode first, then a server with API keys
 * (401, 403, 429 with Retry-After, 503 queue_full).
 */
import t from 'tap'
import { startServer, type TapTest, type TestServer } from '../helpers/server.js'
import { testConfig } from '../helpers/config.js'
import { README_GREETER as GREETER, README_POET as POET, README_WAVE as WAVE } from '../helpers/readme-jobs.js'
import { CONTRACT_KEYS, keyedConfig, startPrismProxy, violationsOf, type Violation } from './contract-helpers.js'

/** Trains for minutes and writes no checkpoint soon: stays running while the test needs it. */
const LONG = {
  name: 'long', model: { type: 'lstm', hidden_size: 32 },
  data: { type: 'text', text: 'a long running job '.repeat(20), seq_len: 16 },
  training: { epochs: 100000, checkpoint_every: 100000 },
}

interface OpenApiOperation {
  operationId: string
  responses: Record<string, { content?: Record<string, { examples?: Record<string, { value: Record<string, unknown> }> }> }>
}
type OpenApiDocument = { paths: Record<string, Record<string, OpenApiOperation>> }

interface Exchange {
  label: string
  operationId: string
  status: number
  body: unknown
  request: Violation[]
  response: Violation[]
  /** The request is deliberately invalid for the document. */
  invalidRequest: boolean
}

/** Sends requests through the proxy and records what Prism said about each exchange. */
class ContractClient {
  readonly exchanges: Exchange[] = []
  private readonly routes: { method: string; pattern: RegExp; operation: OpenApiOperation }[]

  constructor(readonly proxyUrl: string, readonly document: OpenApiDocument) {
    this.routes = Object.entries(document.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, operation]) => ({
      method: method.toUpperCase(),
      pattern: new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`),
      operation,
    })))
  }

  operation(method: string, path: string): OpenApiOperation {
    const route = this.routes.find((r) => r.method === method && r.pattern.test(path.split('?')[0]!))
    if (!route) throw new Error(`no operation in the document for ${method} ${path}`)
    return route.operation
  }

  async call(t: TapTest, method: string, path: string, options: {
    json?: unknown
    raw?: { body: string; contentType: string }
    headers?: Record<string, string>
    expect: number
    invalidRequest?: boolean
  }): Promise<{ status: number; body: any; headers: Headers }> {
    const headers: Record<string, string> = { ...options.headers }
    let body: string | undefined
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json'
      body = JSON.stringify(options.json)
    } else if (options.raw) {
      headers['content-type'] = options.raw.contentType
      body = options.raw.body
    }
    const response = await fetch(`${this.proxyUrl}${path}`, { method, headers, body })
    const text = await response.text()
    const type = response.headers.get('content-type') ?? ''
    const parsed = type.startsWith('application/json') ? JSON.parse(text) : text
    const violations = violationsOf(response)
    const label = `${method} ${path.length > 80 ? `${path.slice(0, 80)}...` : path} -> ${response.status}`
    t.equal(response.status, options.expect, `${label}: the server's answer (not Prism's)`)
    this.exchanges.push({
      label, operationId: this.operation(method, path).operationId, status: response.status, body: parsed,
      request: violations.request, response: violations.response, invalidRequest: options.invalidRequest ?? false,
    })
    return { status: response.status, body: parsed, headers: response.headers }
  }
}

/** A server, Prism in front of it, the served document and a recording client. */
async function contractSetup(t: TapTest, server: TestServer) {
  const proxy = await startPrismProxy(t, server.baseUrl)
  const document = (await (await server.fetch('/openapi.json')).json()) as OpenApiDocument
  return new ContractClient(proxy.url, document)
}

async function waitForStatus(server: TestServer, id: string, statuses: string[]) {
  const deadline = Date.now() + 60_000
  for (;;) {
    const job = (await (await server.fetch(`/jobs/${id}`)).json()) as { status: string }
    if (statuses.includes(job.status)) return job
    if (Date.now() > deadline) throw new Error(`job ${id} stayed ${job.status}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** Asserts Prism's verdicts and that each error body has its documented example's shape. */
function checkExchanges(t: TapTest, client: ContractClient) {
  for (const exchange of client.exchanges) {
    t.same(exchange.response, [], `${exchange.label}: 0 response violations`)
    if (exchange.invalidRequest) t.not(exchange.request.length, 0, `${exchange.label}: Prism also finds the request invalid`)
    else t.same(exchange.request, [], `${exchange.label}: a valid request for the document`)
    if (exchange.status >= 400) {
      const body = exchange.body as { code: string }
      const operation = Object.values(client.document.paths).flatMap((m) => Object.values(m)).find((o) => o.operationId === exchange.operationId)!
      const example = operation.responses[String(exchange.status)]?.content?.['application/json']?.examples?.[body.code]?.value
      t.ok(example, `${exchange.label}: the document has an example of ${body.code} for this status`)
      if (example) t.same(Object.keys(body).sort(), Object.keys(example).sort(), `${exchange.label}: ${body.code} has its example's fields`)
    }
  }
}

const seen: Exchange[] = []
let allOperations: string[] = []

t.test('open server: every route through the validating proxy', async (t) => {
  const server = await startServer(t, { config: testConfig({ limits: { maxBodyBytes: 64 * 1024 }, maxEventLoopDelayMs: 0 }), training: true })
  const api = await contractSetup(t, server)
  allOperations = Object.values(api.document.paths).flatMap((m) => Object.values(m).map((o) => o.operationId))

  await api.call(t, 'GET', '/healthz', { expect: 200 })
  await api.call(t, 'GET', '/readyz', { expect: 200 })
  await api.call(t, 'GET', '/metrics', { expect: 200 })

  // Submit: the README's three jobs, then every way a submission fails.
  const greeter = (await api.call(t, 'POST', '/jobs', { json: GREETER, expect: 202 })).body
  const poet = (await api.call(t, 'POST', '/jobs', { json: POET, expect: 202, headers: { 'idempotency-key': 'poet-1' } })).body
  await api.call(t, 'POST', '/jobs', { json: POET, expect: 202, headers: { 'idempotency-key': 'poet-1' } })
  await api.call(t, 'POST', '/jobs', { json: WAVE, expect: 202 })
  await api.call(t, 'POST', '/jobs', { json: { ...POET, name: 'other' }, expect: 422, headers: { 'idempotency-key': 'poet-1' } })
  await api.call(t, 'POST', '/jobs', { json: { ...GREETER, training: { epoch: 3 } }, expect: 400, invalidRequest: true })
  await api.call(t, 'POST', '/jobs', { json: { ...GREETER, data: { type: 'pairs', pairs: [{ input: 'hello', target: 'hi' }] } }, expect: 400 })
  await api.call(t, 'POST', '/jobs', { raw: { body: 'epochs=3', contentType: 'text/plain' }, expect: 415, invalidRequest: true })
  await api.call(t, 'POST', '/jobs', { json: { ...POET, data: { ...POET.data, text: 'x'.repeat(70 * 1024) } }, expect: 413 })

  for (const job of [greeter, poet]) await waitForStatus(server, job.id, ['succeeded'])
  const waves = (await (await server.fetch('/jobs?name=wave')).json()) as { items: { id: string }[] }
  await waitForStatus(server, waves.items[0]!.id, ['succeeded'])

  // Read jobs.
  await api.call(t, 'GET', `/jobs/${greeter.id}`, { expect: 200 })
  await api.call(t, 'GET', '/jobs/no-such-job', { expect: 404 })
  const page = (await api.call(t, 'GET', '/jobs?status=succeeded&limit=1', { expect: 200 })).body
  t.type(page.next_cursor, 'string', 'a first page of one job has a next_cursor')
  await api.call(t, 'GET', `/jobs?status=succeeded&limit=1&cursor=${encodeURIComponent(page.next_cursor)}`, { expect: 200 })
  await api.call(t, 'GET', '/jobs?name=poet', { expect: 200 })
  await api.call(t, 'GET', '/jobs?cursor=not-a-cursor', { expect: 400 })
  await api.call(t, 'GET', '/jobs?limit=0', { expect: 400, invalidRequest: true })

  // Losses, JSON and CSV, paginated.
  await api.call(t, 'GET', `/jobs/${greeter.id}/losses`, { expect: 200 })
  const first = await api.call(t, 'GET', `/jobs/${greeter.id}/losses?limit=150`, { expect: 200 })
  await api.call(t, 'GET', `/jobs/${greeter.id}/losses?limit=150&cursor=${first.body.next_cursor}`, { expect: 200 })
  await api.call(t, 'GET', `/jobs/${greeter.id}/losses?format=csv&limit=150`, { expect: 200 })
  await api.call(t, 'GET', `/jobs/${greeter.id}/losses?cursor=x1`, { expect: 400 })
  await api.call(t, 'GET', '/jobs/no-such-job/losses', { expect: 404 })
  await api.call(t, 'GET', `/jobs/${greeter.id}/weights`, { expect: 200 })
  await api.call(t, 'GET', '/jobs/no-such-job/weights', { expect: 404 })
  await api.call(t, 'GET', `/jobs/${greeter.id}/losses?format=svg`, { expect: 200 })
  await api.call(t, 'GET', `/jobs/${greeter.id}/events`, { expect: 200 })
  await api.call(t, 'GET', '/jobs/no-such-job/events', { expect: 404 })
  await api.call(t, 'GET', '/events?catch_up=true', { expect: 200 })
  await api.call(t, 'GET', '/events?catch_up=maybe', { expect: 400, invalidRequest: true })

  // Predict: the README's requests, then the errors.
  await api.call(t, 'GET', '/predict?model=greeter&input=hello', { expect: 200 })
  await api.call(t, 'GET', `/predict?job=${greeter.id}&input=hello`, { expect: 200 })
  await api.call(t, 'GET', '/predict?model=poet&input=the%20&length=40&temperature=0.5&seed=7', { expect: 200 })
  await api.call(t, 'GET', '/predict?model=wave&input=0,0.5,0.87,1,0.87,0.5', { expect: 200 })
  await api.call(t, 'GET', '/predict?model=greeter&input=help', { expect: 400 })
  await api.call(t, 'GET', '/predict?model=nobody&input=hello', { expect: 404 })
  await api.call(t, 'POST', '/predict', { json: { model: 'greeter', inputs: ['hello', 'hlleo'] }, expect: 200 })
  await api.call(t, 'POST', '/predict', { json: { model: 'wave', inputs: [[0, 0.5, 0.87, 1, 0.87, 0.5]] }, expect: 200 })
  await api.call(t, 'POST', '/predict', { json: { model: 'greeter', inputs: ['hello'], lenght: 3 }, expect: 400, invalidRequest: true })
  await api.call(t, 'POST', '/predict', { json: { model: 'nobody', inputs: ['hello'] }, expect: 404 })

  // Open Inference Protocol (v2): the same models by name and by version (registry number or job id).
  const bytes = { inputs: [{ name: 'input', shape: [2], datatype: 'BYTES', data: ['hello', 'hell'] }] }
  await api.call(t, 'GET', '/v2', { expect: 200 })
  await api.call(t, 'GET', '/v2/health/live', { expect: 200 })
  await api.call(t, 'GET', '/v2/health/ready', { expect: 200 })
  for (const base of ['/v2/models/greeter', '/v2/models/greeter/versions/1', `/v2/models/greeter/versions/${greeter.id}`]) {
    await api.call(t, 'GET', base, { expect: 200 })
    await api.call(t, 'GET', `${base}/ready`, { expect: 200 })
    await api.call(t, 'POST', `${base}/infer`, { json: { id: 'r1', ...bytes }, expect: 200 })
  }
  await api.call(t, 'POST', '/v2/models/wave/infer', { json: { inputs: [{ name: 'input', shape: [1, 6, 1], datatype: 'FP64', data: [0, 0.5, 0.87, 1, 0.87, 0.5] }] }, expect: 200 })
  for (const base of ['/v2/models/nobody', '/v2/models/greeter/versions/9', '/v2/models/greeter/versions/no-such-job']) {
    await api.call(t, 'GET', base, { expect: 404 })
    await api.call(t, 'GET', `${base}/ready`, { expect: 404 })
    await api.call(t, 'POST', `${base}/infer`, { json: bytes, expect: 404 })
  }
  await api.call(t, 'GET', '/v2/models/greeter@staging', { expect: 404 })
  await api.call(t, 'POST', '/v2/models/greeter/infer', { json: { inputs: [] }, expect: 400, invalidRequest: true })
  await api.call(t, 'POST', '/v2/models/greeter/infer', { json: { inputs: [{ name: 'input', shape: [1], datatype: 'BYTES', data: ['help'] }] }, expect: 400 })

  // Models: cards, exports, the registry, imports.
  await api.call(t, 'GET', `/jobs/${greeter.id}/model`, { expect: 200 })
  await api.call(t, 'GET', '/jobs/no-such-job/model', { expect: 404 })
  await api.call(t, 'GET', `/jobs/${greeter.id}/weights?format=safetensors`, { expect: 200 })
  await api.call(t, 'GET', `/jobs/${greeter.id}/weights?format=onnx&state=true`, { expect: 200 })
  await api.call(t, 'GET', '/models', { expect: 200 })
  await api.call(t, 'GET', '/models/greeter', { expect: 200 })
  await api.call(t, 'GET', '/models/nobody', { expect: 404 })
  await api.call(t, 'GET', '/models/greeter/versions/1', { expect: 200 })
  await api.call(t, 'GET', '/models/greeter/versions/9', { expect: 404 })
  await api.call(t, 'GET', '/models/greeter/versions/1/model', { expect: 200 })
  await api.call(t, 'GET', '/models/greeter/versions/9/model', { expect: 404 })
  await api.call(t, 'GET', '/models/greeter/versions/1/weights?format=safetensors', { expect: 200 })
  await api.call(t, 'GET', '/models/greeter/versions/9/weights', { expect: 404 })
  await api.call(t, 'PUT', '/models/greeter/aliases/production', { json: { version: 1 }, expect: 200 })
  await api.call(t, 'PUT', '/models/greeter/aliases/production', { json: { version: 9 }, expect: 404 })
  await api.call(t, 'GET', '/predict?model=greeter@production&input=hello', { expect: 200 })
  await api.call(t, 'GET', '/predict?model=greeter@staging&input=hello', { expect: 404 })
  await api.call(t, 'DELETE', `/jobs/${greeter.id}`, { expect: 409 })
  const card = await (await server.fetch(`/jobs/${greeter.id}/model`)).json()
  const stateDict = await (await server.fetch(`/jobs/${greeter.id}/weights`)).json()
  await api.call(t, 'POST', '/models/copy/versions', { json: { card, state_dict: stateDict }, expect: 201 })
  await api.call(t, 'POST', '/models/copy/versions', { json: { card, state_dict: {} }, expect: 400 })
  await api.call(t, 'DELETE', '/models/greeter/versions/1', { expect: 409 })
  await api.call(t, 'DELETE', '/models/copy/versions/1', { expect: 204 })
  await api.call(t, 'DELETE', '/models/copy/versions/1', { expect: 404 })
  await api.call(t, 'DELETE', '/models/greeter/aliases/production', { expect: 204 })
  await api.call(t, 'DELETE', '/models/greeter/aliases/production', { expect: 404 })

  // A running job: not predictable, not deletable, cancellable once.
  const long = (await api.call(t, 'POST', '/jobs', { json: LONG, expect: 202 })).body
  await waitForStatus(server, long.id, ['running'])
  await api.call(t, 'GET', `/predict?job=${long.id}&input=a`, { expect: 409 })
  await api.call(t, 'POST', '/predict', { json: { job: long.id, inputs: ['a'] }, expect: 409 })
  await api.call(t, 'GET', `/jobs/${long.id}/weights`, { expect: 409 })
  await api.call(t, 'DELETE', `/jobs/${long.id}`, { expect: 409 })
  await api.call(t, 'POST', `/jobs/${long.id}/cancel`, { expect: 202 })
  await waitForStatus(server, long.id, ['cancelled'])
  await api.call(t, 'POST', `/jobs/${long.id}/cancel`, { expect: 409 })
  await api.call(t, 'POST', '/jobs/no-such-job/cancel', { expect: 404 })
  await api.call(t, 'DELETE', `/jobs/${long.id}`, { expect: 204 })
  await api.call(t, 'DELETE', `/jobs/${long.id}`, { expect: 404 })

  checkExchanges(t, api)
  seen.push(...api.exchanges)
})

t.test('server with API keys: 401, 403, 429 and 503 through the validating proxy', async (t) => {
  // No runner: the one job allowed in the queue stays there, so the next is refused.
  const config = keyedConfig({ MAX_QUEUED_JOBS: '1', RATE_LIMIT_PREDICT_PER_MINUTE: '2' })
  const server = await startServer(t, { config })
  const api = await contractSetup(t, server)
  const admin = { authorization: `Bearer ${CONTRACT_KEYS.admin}` }
  const reader = { authorization: `Bearer ${CONTRACT_KEYS.reader}` }

  await api.call(t, 'GET', '/jobs', { expect: 401, invalidRequest: true })
  await api.call(t, 'GET', '/jobs', { expect: 401, headers: { authorization: 'Bearer not-a-configured-key-000' } })
  await api.call(t, 'GET', '/jobs', { expect: 200, headers: reader })
  await api.call(t, 'GET', '/metrics', { expect: 403, headers: reader })
  await api.call(t, 'GET', '/models', { expect: 403, headers: reader })
  await api.call(t, 'GET', '/metrics', { expect: 200, headers: admin })
  await api.call(t, 'POST', '/jobs', { json: GREETER, expect: 403, headers: reader })
  await api.call(t, 'POST', '/jobs', { json: GREETER, expect: 202, headers: admin })
  const full = await api.call(t, 'POST', '/jobs', { json: GREETER, expect: 503, headers: admin })
  t.equal(full.headers.get('retry-after'), '30', '503 queue_full says when to retry')
  await api.call(t, 'GET', '/predict?model=greeter&input=hello', { expect: 404, headers: admin })
  await api.call(t, 'GET', '/predict?model=greeter&input=hello', { expect: 404, headers: admin })
  const limited = await api.call(t, 'GET', '/predict?model=greeter&input=hello', { expect: 429, headers: admin })
  await api.call(t, 'GET', '/v2/models/greeter', { expect: 401, invalidRequest: true })
  await api.call(t, 'POST', '/v2/models/greeter/infer', { json: { inputs: [{ name: 'input', shape: [1], datatype: 'BYTES', data: ['hello'] }] }, expect: 429, headers: admin })
  t.match(limited.headers.get('retry-after'), /^\d+$/, '429 says when to retry')

  checkExchanges(t, api)
  seen.push(...api.exchanges)
})

t.test('every operation was exercised with a success and an error', async (t) => {
  t.ok(allOperations.length >= 12, `${allOperations.length} operations in the document`)
  // The v2 server routes answer whenever the process does (ready's 503 is a status, not an error body).
  const noErrorPath = new Set(['getHealth', 'getReadiness', 'v2ServerMetadata', 'v2ServerLive', 'v2ServerReady'])
  for (const operationId of allOperations) {
    t.ok(seen.some((e) => e.operationId === operationId && e.status < 300), `${operationId}: a success`)
    if (!noErrorPath.has(operationId)) t.ok(seen.some((e) => e.operationId === operationId && e.status >= 400), `${operationId}: an error`)
  }
})

t.test('the proxy reports a response that contradicts the document', async (t) => {
  // Guards the suite itself: a server answering outside its contract must be caught.
  const server = await startServer(t, {
    config: testConfig({ maxEventLoopDelayMs: 0 }),
    setup: (app) => {
      app.addHook('onSend', async (request, reply, payload) => (request.url === '/healthz' ? JSON.stringify({ status: 'fine' }) : payload))
    },
  })
  const proxy = await startPrismProxy(t, server.baseUrl)
  const response = await fetch(`${proxy.url}/healthz`)
  await response.text()
  const { response: violations } = violationsOf(response)
  t.ok(violations.length > 0, `reported: ${JSON.stringify(violations)}`)
})
