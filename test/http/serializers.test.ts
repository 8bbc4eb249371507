/**
 * Response serializers are complete before the server listens: fast-json-stringify compiles
 * the Ajv validators of a response schema's unions lazily unless told otherwise, which
 * blocked the event loop for ~0.1 s on a route's first request (the first GET /jobs after a
 * start; issue 9's stall test). Counted, not timed: no Ajv schema is compiled while serving.
 */
import { createRequire } from 'node:module'
import t from 'tap'
import { testConfig } from '../helpers/config.js'
import { startServer } from '../helpers/server.js'

// The Ajv that fast-json-stringify uses (its own dependency, resolved from its folder).
const fjsRequire = createRequire(createRequire(import.meta.url).resolve('fast-json-stringify'))
const Ajv = fjsRequire('ajv') as { default: { prototype: Record<string, unknown> } }

t.test('no response schema is compiled on a first request', async (t) => {
  const server = await startServer(t, { config: testConfig({ maxEventLoopDelayMs: 0 }) })

  const proto = Ajv.default.prototype
  const original = proto._compileSchemaEnv as (...args: unknown[]) => unknown
  t.type(original, 'function', "Ajv compiles schemas through _compileSchemaEnv (the count below relies on it)")
  let compiled = 0
  proto._compileSchemaEnv = function (this: unknown, ...args: unknown[]) {
    compiled++
    return original.apply(this, args)
  }
  t.teardown(() => {
    proto._compileSchemaEnv = original
  })

  const submitted = await server.fetch('/jobs', {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'first', model: { type: 'rnn', hidden_size: 4 }, data: { type: 'pairs', pairs: [{ input: 'ab', target: 'ba' }] }, training: { epochs: 2 } }),
  })
  t.equal(submitted.status, 202, 'POST /jobs')
  const { id } = (await submitted.json()) as { id: string }
  const expected: [string, number][] = [
    ['/jobs?limit=5', 200], [`/jobs/${id}`, 200], [`/jobs/${id}/losses`, 200], ['/models', 200],
    ['/jobs/00000000-0000-4000-8000-000000000000', 404], ['/jobs?limit=0', 400],
  ]
  for (const [path, status] of expected) {
    const response = await server.fetch(path)
    t.equal(response.status, status, `GET ${path}`)
    await response.arrayBuffer()
  }
  t.equal(compiled, 0, 'no Ajv schema was compiled while answering the first requests')
})
