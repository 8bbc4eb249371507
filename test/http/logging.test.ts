import t from 'tap'
import { genReqId, loggerOptions } from '../../src/logger.js'
import { captureLogs } from '../helpers/logs.js'
import { startServer } from '../helpers/server.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

t.test('an incoming x-request-id is echoed and used on the request log lines', async (t) => {
  const logs = captureLogs()
  const server = await startServer(t, { logger: logs.logger })
  const response = await server.fetch('/healthz', { headers: { 'x-request-id': 'client-id-42' } })
  t.equal(response.status, 200)
  t.equal(response.headers.get('x-request-id'), 'client-id-42')
  await response.arrayBuffer()

  const requestLines = logs.lines().filter((line) => line.reqId !== undefined)
  t.same(
    requestLines.map((line) => line.msg),
    ['incoming request', 'request completed'],
    'fastify request logs',
  )
  t.ok(requestLines.every((line) => line.reqId === 'client-id-42'), 'all carry the request id')
})

t.test('without x-request-id (or with an unusable one) a UUID is generated and returned', async (t) => {
  const server = await startServer(t)
  const plain = await server.fetch('/healthz')
  t.match(plain.headers.get('x-request-id'), UUID)

  const second = await server.fetch('/healthz')
  t.not(second.headers.get('x-request-id'), plain.headers.get('x-request-id'), 'unique per request')

  for (const unusable of ['has spaces in it', 'x'.repeat(129), 'tab\there']) {
    const response = await server.fetch('/healthz', { headers: { 'x-request-id': unusable } })
    t.match(response.headers.get('x-request-id'), UUID, `replaces ${JSON.stringify(unusable.slice(0, 20))}`)
  }
  t.equal(genReqId({ headers: { 'x-request-id': 'Root=1-abc/def:42' } } as never), 'Root=1-abc/def:42')
})

t.test('authorization headers are redacted from log lines', async (t) => {
  const logs = captureLogs()
  logs.logger.info({ req: { headers: { authorization: 'Bearer s3cret', accept: '*/*' } } }, 'with headers')
  logs.logger.info({ headers: { authorization: 'Bearer s3cret' } }, 'bare headers')
  const text = JSON.stringify(logs.lines())
  t.notMatch(text, /s3cret/)
  const [first, second] = logs.lines()
  t.same((first?.req as { headers: unknown }).headers, { authorization: '[Redacted]', accept: '*/*' })
  t.same((second?.headers as { authorization: string }).authorization, '[Redacted]')
})

t.test('log output is JSON unless pretty printing is asked for', async (t) => {
  t.equal(loggerOptions({ logLevel: 'info', logPretty: false }).transport, undefined)
  t.match(loggerOptions({ logLevel: 'debug', logPretty: true }), {
    level: 'debug',
    transport: { target: 'pino-pretty' },
  })
})
