import t from 'tap'
import { Type } from 'typebox'
import { buildApp } from '../../src/app.js'
import { errorResponses, jsonResponse, StrictObject } from '../../src/http/schemas/common.js'
import { testConfig } from '../helpers/config.js'

let operations = 0
/** A fully documented route schema, each with its own operationId. */
const documented = () => ({
  operationId: `testOperation${++operations}`,
  summary: 'A route',
  tags: ['jobs'],
  response: { 200: jsonResponse('OK', Type.Object({ ok: Type.Boolean() })), ...errorResponses(400) },
})

t.test('a route without response schemas stops the app from starting', async (t) => {
  const app = await buildApp({ config: testConfig(), logger: false })
  t.teardown(() => app.close())
  t.throws(
    () => app.get('/bare', { schema: { operationId: 'getBare', summary: 'x', tags: ['jobs'] } }, async () => ({})),
    /Route GET \/bare: has no response schemas/,
  )
  t.throws(() => app.get('/none', async () => ({})), /Route GET \/none: has no schema/)
})

t.test('a request object that allows unknown properties is rejected, naming its path', async (t) => {
  const app = await buildApp({ config: testConfig(), logger: false })
  t.teardown(() => app.close())
  const openBody = Type.Object({
    model: StrictObject({ type: Type.String() }),
    training: Type.Object({ epochs: Type.Integer() }),
  })
  t.throws(
    () => app.post('/open', { schema: { ...documented(), body: openBody } }, async () => ({ ok: true })),
    /Route POST \/open: body allows unknown properties .*; body\/training allows unknown properties/,
  )
  const openQuery = Type.Object({ limit: Type.Integer() })
  t.throws(
    () => app.get('/q', { schema: { ...documented(), querystring: openQuery } }, async () => ({ ok: true })),
    /querystring allows unknown properties/,
  )
})

t.test('a fully documented strict route and hidden routes are accepted', async (t) => {
  const app = await buildApp({ config: testConfig(), logger: false })
  t.teardown(() => app.close())
  app.post(
    '/strict',
    { schema: { ...documented(), body: StrictObject({ list: Type.Array(StrictObject({ a: Type.String() })) }) } },
    async () => ({ ok: true }),
  )
  app.get('/hidden', { schema: { hide: true } }, async () => 'hidden')
  await app.ready()
  t.ok(app.hasRoute({ method: 'POST', url: '/strict' }))
})

t.test('an operation without an operationId, with a duplicate one or with an unnamed response stops the app', async (t) => {
  const app = await buildApp({ config: testConfig(), logger: false })
  t.teardown(() => app.close())
  const { operationId: _dropped, ...withoutId } = documented()
  t.throws(() => app.get('/no-id', { schema: withoutId }, async () => ({ ok: true })), /Route GET \/no-id: has no camelCase operationId/)
  t.throws(
    () => app.get('/getJob-again', { schema: { ...documented(), operationId: 'getJob' } }, async () => ({ ok: true })),
    /operationId getJob is already used by GET \/jobs\/:id/,
  )
  t.throws(
    () => app.get('/unnamed', { schema: { ...documented(), response: { 200: Type.Object({ ok: Type.Boolean() }) } } }, async () => ({ ok: true })),
    /response 200 has no description/,
  )
})
