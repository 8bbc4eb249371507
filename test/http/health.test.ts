import t from 'tap'
import { startServer } from '../helpers/server.js'

t.test('GET /healthz answers 200 {status: "ok"} as JSON', async (t) => {
  const server = await startServer(t)
  const response = await server.fetch('/healthz')
  t.equal(response.status, 200)
  t.match(response.headers.get('content-type'), /^application\/json/)
  t.same(await response.json(), { status: 'ok' })
})

t.test('HEAD /healthz answers 200 without a body', async (t) => {
  const server = await startServer(t)
  const response = await server.fetch('/healthz', { method: 'HEAD' })
  t.equal(response.status, 200)
  t.equal(await response.text(), '')
})
