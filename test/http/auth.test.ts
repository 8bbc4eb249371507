import { join } from 'node:path'
import t from 'tap'
import { Type } from 'typebox'
import type { App } from '../../src/app.js'
import { errorResponses, jsonResponse } from '../../src/http/schemas/common.js'
import { captureLogs } from '../helpers/logs.js'
import { readError, startServer, type TapTest, type TestServer } from '../helpers/server.js'
import { configFromEnv as configWith } from '../helpers/config.js'

/** Real configuration from an environment, as the service reads it (so API_KEYS parsing is exercised too). */
const KEYS = {
  admin: 'adm1n-0123456789abcdef0123456789',
  writer: 'wr1ter-0123456789abcdef012345678',
  reader: 'rea0er-0123456789abcdef012345678',
  predictor: 'pr3d1ct-0123456789abcdef01234567',
  scraper: 'scr4per-0123456789abcdef01234567',
  both: 'b0th-0123456789abcdef0123456789ab',
} as const
type Holder = keyof typeof KEYS

const API_KEYS = JSON.stringify({
  [KEYS.admin]: ['admin'],
  [KEYS.writer]: ['jobs:write'],
  [KEYS.reader]: ['jobs:read'],
  [KEYS.predictor]: ['predict'],
  [KEYS.scraper]: ['metrics:read'],
  [KEYS.both]: ['jobs:read', 'predict'],
})

const bearer = (holder: Holder) => ({ authorization: `Bearer ${KEYS[holder]}` })

const NO_JOB = '01J9Z3V4K6TQ8M2X5C7B9D1F3H'

interface RouteCase {
  method: string
  path: string
  body?: unknown
  scope: string
}

/** Every API route with the scope it needs; an authorized call gets past auth to the route's own answer. */
const ROUTES: RouteCase[] = [
  { method: 'POST', path: '/jobs', body: {}, scope: 'jobs:write' },
  { method: 'GET', path: '/jobs', scope: 'jobs:read' },
  { method: 'GET', path: `/jobs/${NO_JOB}`, scope: 'jobs:read' },
  { method: 'GET', path: `/jobs/${NO_JOB}/losses`, scope: 'jobs:read' },
  { method: 'GET', path: `/jobs/${NO_JOB}/weights`, scope: 'jobs:read' },
  { method: 'POST', path: `/jobs/${NO_JOB}/cancel`, scope: 'jobs:write' },
  { method: 'DELETE', path: `/jobs/${NO_JOB}`, scope: 'jobs:write' },
  { method: 'GET', path: `/predict?job=${NO_JOB}&input=abc`, scope: 'predict' },
  { method: 'POST', path: '/predict', body: { job: NO_JOB, inputs: ['abc'] }, scope: 'predict' },
]

const SCOPES_OF: Record<Holder, string[]> = {
  admin: ['admin'],
  writer: ['jobs:write'],
  reader: ['jobs:read'],
  predictor: ['predict'],
  scraper: ['metrics:read'],
  both: ['jobs:read', 'predict'],
}

function call(server: TestServer, route: RouteCase, headers: Record<string, string> = {}): Promise<Response> {
  if (route.body === undefined) return server.fetch(route.path, { method: route.method, headers })
  return server.postJson(route.path, route.body, headers)
}

/** A test-only route that declares no scope: secure by default means admin only. */
function registerUndeclaredRoute(app: App): void {
  app.get('/test/undeclared', {
    schema: { operationId: 'getUndeclared', summary: 'declares no scope', tags: ['jobs'], response: { 200: jsonResponse('OK', Type.Object({ ok: Type.Boolean() })), ...errorResponses(401, 403) } },
  }, async () => ({ ok: true }))
}

async function expectUnauthorized(t: TapTest, response: Response, challenge: string, message: RegExp) {
  t.equal(response.headers.get('www-authenticate'), challenge, 'WWW-Authenticate challenge')
  const body = await readError(t, response, { statusCode: 401, code: 'unauthorized', error: 'Unauthorized' })
  t.match(body.message, message)
}

t.test('each key reaches exactly the routes its scopes allow; admin reaches all', async (t) => {
  const server = await startServer(t, { config: configWith({ API_KEYS }) })
  for (const holder of Object.keys(KEYS) as Holder[]) {
    for (const route of ROUTES) {
      const allowed = SCOPES_OF[holder].includes(route.scope) || SCOPES_OF[holder].includes('admin')
      const response = await call(server, route, bearer(holder))
      const name = `${holder} ${route.method} ${route.path}`
      if (allowed) {
        t.notOk([401, 403].includes(response.status), `${name}: reaches the route (${response.status})`)
        await response.arrayBuffer()
      } else {
        t.equal(response.headers.get('www-authenticate'), `Bearer realm="seqserve", error="insufficient_scope", scope="${route.scope}"`, `${name}: challenge names the scope`)
        const body = await readError(t, response, { statusCode: 403, code: 'forbidden', error: 'Forbidden' })
        t.match(body.message, `lacks the ${route.scope} scope`, `${name}: 403 names the missing scope`)
        t.same(body.details, { required_scope: route.scope })
      }
    }
  }
})

t.test('no key -> 401 on every API route, with a Bearer challenge', async (t) => {
  const server = await startServer(t, { config: configWith({ API_KEYS }) })
  for (const route of ROUTES) {
    await expectUnauthorized(t, await call(server, route), 'Bearer realm="seqserve"', /An API key is required: send `Authorization: Bearer <key>`/)
  }
  const head = await server.fetch('/jobs', { method: 'HEAD' })
  t.equal(head.status, 401, 'HEAD twins of GET routes are guarded too')
})

t.test('an unknown key -> 401 invalid_token; a malformed header -> 401 invalid_request', async (t) => {
  const server = await startServer(t, { config: configWith({ API_KEYS }) })
  const unknown = [
    `Bearer ${KEYS.admin}x`,
    `Bearer ${KEYS.admin.slice(0, -1)}`,
    `Bearer ${KEYS.admin.toUpperCase()}`,
    'Bearer not-a-configured-key-at-all',
  ]
  for (const authorization of unknown) {
    await expectUnauthorized(t, await server.fetch('/jobs', { headers: { authorization } }), 'Bearer realm="seqserve", error="invalid_token"', /^The API key is not valid$/)
  }
  const malformed = [
    `Basic ${Buffer.from(`user:${KEYS.admin}`).toString('base64')}`,
    'Bearer',
    'Bearer ',
    `Bearer ${KEYS.admin} extra`,
    `Token ${KEYS.admin}`,
    KEYS.admin,
    `Bearer "${KEYS.admin}"`,
    `Bearer ${'a'.repeat(2000)}`,
  ]
  for (const authorization of malformed) {
    await expectUnauthorized(t, await server.fetch('/jobs', { headers: { authorization } }), 'Bearer realm="seqserve", error="invalid_request"', /must be `Bearer <key>`/)
  }
  const lowercase = await server.fetch('/jobs', { headers: { authorization: `bearer ${KEYS.reader}` } })
  t.equal(lowercase.status, 200, 'the scheme name is case-insensitive (RFC 7235)')
})

t.test('routes that declare no scope are admin-only when keys are configured', async (t) => {
  const server = await startServer(t, { config: configWith({ API_KEYS }), setup: registerUndeclaredRoute })
  t.equal((await server.fetch('/test/undeclared')).status, 401)
  const forbidden = await readError(t, await server.fetch('/test/undeclared', { headers: bearer('both') }), { statusCode: 403, code: 'forbidden', error: 'Forbidden' })
  t.equal(forbidden.message, 'The API key lacks the admin scope needed for GET /test/undeclared')
  const admin = await server.fetch('/test/undeclared', { headers: bearer('admin') })
  t.equal(admin.status, 200)
  t.same(await admin.json(), { ok: true })
})

t.test('unknown URLs need a valid key before they answer 404', async (t) => {
  const server = await startServer(t, { config: configWith({ API_KEYS }) })
  t.equal((await server.fetch('/no/such/route')).status, 401, 'anonymous clients cannot map the API')
  await readError(t, await server.fetch('/no/such/route', { headers: bearer('scraper') }), { statusCode: 404, code: 'not_found', error: 'Not Found' })
})

t.test('probes, the API docs and the OpenAPI document stay open', async (t) => {
  const server = await startServer(t, { config: configWith({ API_KEYS }) })
  for (const path of ['/healthz', '/openapi.json', '/docs', '/docs/', '/docs/json', '/docs/static/swagger-ui.css', '/docs/static/swagger-initializer.js']) {
    const response = await server.fetch(path, { headers: { authorization: 'Bearer wrong-key-is-ignored-here' } })
    t.equal(response.status, 200, `${path} without a valid key`)
    await response.arrayBuffer()
    const anonymous = await server.fetch(path)
    t.equal(anonymous.status, 200, `${path} without any key`)
    await anonymous.arrayBuffer()
  }
})

t.test('with no keys configured the service is open and warns at start', async (t) => {
  const logs = captureLogs()
  const server = await startServer(t, { config: configWith({}), logger: logs.logger, setup: registerUndeclaredRoute })
  for (const route of ROUTES) {
    const response = await call(server, route, { authorization: 'Bearer whatever-a-client-sends' })
    t.notOk([401, 403].includes(response.status), `${route.method} ${route.path} -> ${response.status}`)
    await response.arrayBuffer()
  }
  t.equal((await server.fetch('/test/undeclared')).status, 200)
  const warnings = logs.lines().filter((line) => line.level === 40)
  t.equal(warnings.length, 1, 'one warning')
  t.match(warnings[0]?.msg, /No API keys configured \(API_KEYS \/ API_KEYS_FILE\): the API is open/)
})

t.test('API_KEYS_FILE configures the keys from a file', async (t) => {
  const dir = t.testdir({ 'keys.json': JSON.stringify({ [KEYS.reader]: ['jobs:read'] }) })
  const server = await startServer(t, { config: configWith({ API_KEYS_FILE: join(dir, 'keys.json') }) })
  t.equal((await server.fetch('/jobs', { headers: bearer('reader') })).status, 200)
  t.equal((await server.fetch('/jobs', { headers: bearer('admin') })).status, 401, 'keys only from the file')
  t.equal((await server.fetch('/jobs')).status, 401)
})

t.test('keys never reach the logs, even at trace level; key ids do', async (t) => {
  const logs = captureLogs('trace')
  const server = await startServer(t, { config: configWith({ API_KEYS }), logger: logs.logger })
  await (await server.fetch('/jobs', { headers: bearer('reader') })).arrayBuffer()
  await (await server.fetch('/jobs', { headers: bearer('writer') })).arrayBuffer()
  await (await server.fetch('/jobs', { headers: { authorization: `Bearer ${KEYS.admin}-typo` } })).arrayBuffer()
  await (await server.fetch('/jobs', { headers: { authorization: `Basic ${KEYS.admin}` } })).arrayBuffer()
  await (await server.postJson('/jobs', { name: 'x' }, bearer('writer'))).arrayBuffer()
  const text = logs.lines().map((line) => JSON.stringify(line)).join('\n')
  t.ok(logs.lines().length > 10, 'requests were logged')
  for (const key of Object.values(KEYS)) t.notMatch(text, key.slice(0, 12), 'no key (nor its start) in any log line')
  const startup = logs.lines().find((line) => line.msg === 'API keys required: 6 configured')
  t.match(startup?.apiKeys, [{ id: 'key-1', scopes: ['admin'] }, { id: 'key-2', scopes: ['jobs:write'] }], 'ids and scopes are logged at start')
})

t.test('configuration errors name the variable and stop the app from being built', async (t) => {
  t.throws(() => configWith({ API_KEYS: '{"too-short": ["admin"]}' }), { name: 'ConfigError', issues: ['API_KEYS key #1 is shorter than 16 characters; generate one with `openssl rand -hex 32`'] })
  t.throws(() => configWith({ API_KEYS: JSON.stringify({ [KEYS.admin]: ['root'] }) }), { name: 'ConfigError', message: /API_KEYS key #1 has unknown scope "root"/ })
})
