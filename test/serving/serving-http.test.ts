import t from 'tap'
import { tutorialJob, textJob, longJob } from '../helpers/jobs.js'
import { sample } from '../helpers/metrics.js'
import { readError } from '../helpers/server.js'
import { queryString as q, startService, tempDir, type TestService } from '../helpers/service.js'
import type { ServingConfig } from '../../src/config.js'

/**
 * Serving over real HTTP and real inference worker threads: cost-aware admission, deadlines
 * that stop the computation, the bounded queue, micro-batching, and an event loop that stays
 * free while a prediction runs. Models are trained once into one database file; each test
 * serves it from a server configured for what it checks.
 */

const dir = tempDir(t)
const FILE = 'models.db'
const trainer = await startService(t, { dir, file: FILE, workers: 2 })
const submitted = {
  greeter: await trainer.submitOk(tutorialJob()),
  poet: await trainer.submitOk(textJob()),
  // Slow to predict with (about 0.2e6 cost units a character), quick to train for one epoch;
  // float64, so one forward over a long prompt outlasts the stuck-worker test's deadline.
  big: await trainer.submitOk(textJob({ name: 'big', model: { type: 'lstm', hidden_size: 128, num_layers: 2, dtype: 'float64' }, training: { epochs: 1 } })),
}
const trained: string[] = []
for (const job of Object.values(submitted)) trained.push((await trainer.waitForEnd(job.id, 120_000)).status)
await trainer.app.close()

t.test('every model trained', async (t) => {
  t.same(trained, ['succeeded', 'succeeded', 'succeeded'])
})

const LONG = { maxPredictLength: 2000, maxSeqLen: 4096 }

async function serve(serving: Partial<ServingConfig> = {}): Promise<TestService> {
  const service = await startService(t, { dir, file: FILE, training: false, serving, limits: LONG })
  // Deadlines count from arrival: start from warm workers, as a running service would.
  await service.app.serving.pool.start()
  return service
}

const TOO_COSTLY = { statusCode: 400, code: 'predict_too_costly', error: 'Bad Request' } as const
const TIMEOUT = { statusCode: 504, code: 'predict_timeout', error: 'Gateway Timeout' } as const

/** A prediction that takes a good fraction of a second on the big model. */
const slow = (length = 2000) => `/predict?${q({ model: 'big', input: 'the cat', length, seed: 1 })}`

t.test('a request over the cost budget is refused at once with the estimate and the budget', async (t) => {
  const service = await serve({ maxCost: 50_000_000 })
  const refused = await readError(t, await service.fetch(slow()), TOO_COSTLY)
  t.match(refused.message, /estimated cost of .* units, over the budget of 50\.00e6 \(PREDICT_MAX_COST\)/)
  const details = refused.details as { estimated_cost: number; max_cost: number }
  t.equal(details.max_cost, 50_000_000)
  t.ok(details.estimated_cost > 50_000_000, `estimate ${details.estimated_cost}`)
  t.equal(service.app.serving.pool.busy, 0, 'nothing ran')
  t.equal((await service.fetch(slow(10))).status, 200, 'a short continuation of the same model is admitted')
  // POST: the whole batch counts, so many cheap inputs can add up to too much.
  const batch = await service.postJson('/predict', { model: 'big', inputs: Array(200).fill('the'), length: 200 })
  await readError(t, batch, TOO_COSTLY)
  const metrics = await (await service.fetch('/metrics')).text()
  t.equal(sample(metrics, 'seqserve_predict_refused_total', 'code="predict_too_costly"'), 2)
})

t.test('a prompt too long for the memory budget is refused the same way', async (t) => {
  const service = await serve({ maxMemoryBytes: 1024 * 1024 })
  const response = await service.fetch(`/predict?${q({ model: 'big', input: 'the cat sat on the mat. '.repeat(4), length: 1 })}`)
  const refused = await readError(t, response, TOO_COSTLY)
  t.match(refused.message, /MiB of activations, over the budget of 1\.0 MiB \(PREDICT_MAX_MEMORY_BYTES\)/)
})

t.test('past PREDICT_TIMEOUT_MS: 504 predict_timeout and the worker stops between steps', async (t) => {
  const service = await serve({ timeoutMs: 100 })
  const started = Date.now()
  await readError(t, await service.fetch(slow()), TIMEOUT)
  t.ok(Date.now() - started >= 100, 'not before the deadline')
  const pool = service.app.serving.pool
  // The worker notices its deadline at its next step: it is free again without a restart.
  while (pool.busy > 0) await new Promise((resolve) => setTimeout(resolve, 5))
  t.equal(pool.restarts, 0, 'stopped cooperatively, not terminated')
  t.equal(pool.readyWorkers, 1, 'the same worker takes the next request')
  t.equal(sample(await (await service.fetch('/metrics')).text(), 'seqserve_predict_refused_total', 'code="predict_timeout"'), 1)
})

t.test('a worker stuck in one long step past its deadline is replaced', async (t) => {
  // No grace and no budget: one forward over a long prompt has no step boundary to stop at.
  const service = await serve({ timeoutMs: 150, stopGraceMs: 0, maxCost: 1e12, maxMemoryBytes: 2 ** 40 })
  const pool = service.app.serving.pool
  const stuck = `/predict?${q({ model: 'big', input: 'the cat sat on the mat. '.repeat(166), length: 1 })}`
  // Outcomes, not durations: on a loaded machine the first request may spend its deadline
  // handing the checkpoint to the worker (then it is stopped before it computes, without a
  // restart). Ask again until a worker was caught computing past the deadline.
  const statuses: number[] = []
  for (let attempt = 0; attempt < 10 && pool.restarts === 0; attempt++) {
    const response = await service.fetch(stuck)
    statuses.push(response.status)
    await readError(t, response, TIMEOUT)
    // The 504 answers at the deadline; the termination follows on a later timer turn.
    while (pool.busy > 0) await new Promise((resolve) => setTimeout(resolve, 20))
  }
  t.ok(statuses.every((s) => s === 504), `every attempt answered 504 (${statuses})`)
  t.equal(pool.restarts, 1, 'a worker caught in the long step was terminated and replaced')
  while (pool.readyWorkers < 1) await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(pool.busy, 0, 'a fresh worker is ready and idle')
})

t.test('a full queue answers 503 overloaded with Retry-After; admitted requests still succeed', async (t) => {
  const service = await serve({ queueLimit: 1 })
  const responses = await Promise.all(Array.from({ length: 6 }, () => service.fetch(slow(600))))
  const statuses = responses.map((r) => r.status)
  t.ok(statuses.includes(200), `some were served: ${statuses}`)
  const shed = responses.filter((r) => r.status === 503)
  t.ok(shed.length >= 1, `some were refused: ${statuses}`)
  t.ok(statuses.every((s) => s === 200 || s === 503), `only 200 and 503: ${statuses}`)
  for (const response of shed) {
    t.equal(response.headers.get('retry-after'), '1')
    const body = await readError(t, response, { statusCode: 503, code: 'overloaded', error: 'Service Unavailable' })
    t.match(body.message, /PREDICT_QUEUE_LIMIT=1/)
  }
})

t.test('tiny predictions run on the main thread; larger ones on the workers', async (t) => {
  const service = await serve()
  t.equal((await service.fetch(`/predict?${q({ model: 'greeter', input: 'hello' })}`)).status, 200)
  t.equal((await service.fetch(slow(5))).status, 200)
  const metrics = await (await service.fetch('/metrics')).text()
  t.equal(sample(metrics, 'seqserve_predict_inline_total'), 1, 'the seed model ran inline')
  t.equal(sample(metrics, 'seqserve_predict_batch_requests_count'), 1, 'the LSTM-128x2 ran on a worker')
})

t.test('the event loop stays free while the most expensive admitted prediction runs', async (t) => {
  const service = await serve()
  const order: string[] = []
  const expensive = service.fetch(slow()).then((r) => { order.push('predict'); return r })
  // Give the prediction time to reach its worker, then ask for cheap things.
  await new Promise((resolve) => setTimeout(resolve, 50))
  for (let i = 0; i < 3; i++) {
    const health = await service.fetch('/healthz')
    t.equal(health.status, 200)
    order.push('healthz')
  }
  t.equal((await expensive).status, 200)
  t.same(order, ['healthz', 'healthz', 'healthz', 'predict'], 'health answered while the prediction ran')
})

t.test('concurrent predictions are merged into batches and answer exactly what they answer alone', async (t) => {
  // Nothing inline: every request goes through the batcher.
  const batched = await serve({ batchDelayMs: 50, batchRows: 64, inlineMaxCost: 0 })
  const alone = await serve({ batchRows: 1, inlineMaxCost: 0 })
  const queries = Array.from({ length: 12 }, (_, i) => `/predict?${q({ model: 'poet', input: ['the', 'cat s', 't'][i % 3], length: 10 + i, temperature: [0, 1, 0.5][i % 3], seed: i })}`)
  const together = await Promise.all(queries.map(async (query) => (await batched.fetch(query)).json()))
  const separately = []
  for (const query of queries) separately.push(await (await alone.fetch(query)).json())
  t.same(together, separately)
  const metrics = await (await batched.fetch('/metrics')).text()
  const batches = sample(metrics, 'seqserve_predict_batch_requests_count')!
  t.ok(batches < queries.length, `${queries.length} requests ran in ${batches} batches`)
  t.equal(sample(metrics, 'seqserve_predict_batch_rows_sum'), 12)
})

t.test('a saturated training pool never turns POST /jobs or predictions into 503s', async (t) => {
  // Load shedding stays off: on a shared machine the event loop can lag for reasons of its
  // own. What is checked is that busy training workers fill no queue a request waits in
  // (queue_full, overloaded); `npm run bench:http` measures shedding under load.
  const service = await startService(t, { dir, file: FILE, workers: 1 })
  for (let i = 0; i < 3; i++) await service.submitOk(longJob({ name: `busy-${i}` }))
  const statuses = await Promise.all([
    ...Array.from({ length: 10 }, () => service.submit(tutorialJob({ name: 'more' })).then((r) => r.response.status)),
    ...Array.from({ length: 40 }, (_, i) => service.fetch(`/predict?${q({ model: 'greeter', input: 'hello' })}`).then((r) => r.status + i * 0)),
    ...Array.from({ length: 10 }, () => service.postJson('/predict', { model: 'poet', inputs: ['the', 'cat'], length: 20 }).then((r) => r.status)),
  ])
  t.same(statuses.filter((s) => s !== 200 && s !== 202), [], 'every request accepted')
})
