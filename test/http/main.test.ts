import t from 'tap'
import { spawnMain, startMain } from '../helpers/process.js'

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  t.test(`the service starts, serves, and exits 0 on ${signal}`, async (t) => {
    const dir = t.testdir({})
    const service = await startMain(t, { env: { DATABASE_PATH: `${dir}/seqserve.db` } })
    t.match(service.url, /^http:\/\/127\.0\.0\.1:\d+$/)

    const response = await fetch(`${service.url}/healthz`)
    t.same(await response.json(), { status: 'ok' })

    service.child.kill(signal)
    t.equal(await service.exited, 0, 'clean exit code')
    const messages = service.lines.map((line) => line.msg)
    t.ok(messages.includes('shutting down'), 'logs the shutdown')
    t.ok(messages.includes('shut down cleanly'), 'logs the clean close')
    t.equal(service.lines.find((line) => line.msg === 'shutting down')?.signal, signal)
  })
}

t.test('invalid configuration: exit 1 with the variable named on stderr', async (t) => {
  const service = spawnMain({ env: { PORT: 'eighty', MAX_HIDDEN_SIZE: '0' } })
  t.equal(await service.exited, 1)
  t.match(service.stderr(), 'PORT="eighty" is not allowed: must be an integer between 0 and 65535')
  t.match(service.stderr(), 'MAX_HIDDEN_SIZE="0" is not allowed: must be an integer >= 1')
  t.notMatch(service.stderr(), /\n\s+at /, 'no stack trace for a configuration mistake')
})
