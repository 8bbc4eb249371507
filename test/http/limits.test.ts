import t from 'tap'
import { tutorialJob } from '../helpers/jobs.js'
import { readError, startServer, type TapTest, type TestServer } from '../helpers/server.js'
import { configFromEnv as configWith } from '../helpers/config.js'

/**
 * Abuse limits and load shedding against a real server: per-key rate limits on POST /jobs
 * and predict, the queued-jobs cap, and 503s while the event loop lags.
 */

const ALICE = 'alice-0123456789abcdef0123456789'
const BOB = 'bob-0123456789abcdef0123456789ab'
const API_KEYS = JSON.stringify({ [ALICE]: ['jobs:write', 'jobs:read', 'predict'], [BOB]: ['jobs:write', 'predict'] })
const as = (key: string) => ({ authorization: `Bearer ${key}` })
const NO_JOB = '01J9Z3V4K6TQ8M2X5C7B9D1F3H'

async function expectRateLimited(t: TapTest, response: Response, limit: number) {
  const retryAfter = Number(response.headers.get('retry-after'))
  t.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After is whole seconds within the window (${retryAfter})`)
  t.equal(response.headers.get('x-ratelimit-limit'), String(limit))
  t.equal(response.headers.get('x-ratelimit-remaining'), '0')
  t.ok(response.headers.get('x-ratelimit-reset'), 'x-ratelimit-reset')
  return readError(t, response, { statusCode: 429, code: 'rate_limited', error: 'Too Many Requests' })
}

t.test('POST /jobs: the N+1th request of a key in a minute is 429; another key has its own budget', async (t) => {
  const server = await startServer(t, { config: configWith({ API_KEYS, RATE_LIMIT_JOBS_PER_MINUTE: '3' }) })
  for (let i = 1; i <= 3; i++) {
    const response = await server.postJson('/jobs', tutorialJob({ name: `alice-${i}` }), as(ALICE))
    t.equal(response.status, 202, `request ${i} accepted`)
    t.equal(response.headers.get('x-ratelimit-limit'), '3')
    t.equal(response.headers.get('x-ratelimit-remaining'), String(3 - i), 'remaining budget counts down')
    await response.arrayBuffer()
  }
  const body = await expectRateLimited(t, await server.postJson('/jobs', tutorialJob(), as(ALICE)), 3)
  t.match(body.message, /^Rate limit of 3 requests per minute to POST \/jobs exceeded by this API key; retry in \d+ s$/)
  t.same(body.details, { limit_per_minute: 3 })

  const bob = await server.postJson('/jobs', tutorialJob({ name: 'bob' }), as(BOB))
  t.equal(bob.status, 202, 'Bob is not limited by Alice')
  t.equal(bob.headers.get('x-ratelimit-remaining'), '2')
  await bob.arrayBuffer()

  const list = await server.fetch('/jobs', { headers: as(ALICE) })
  t.equal(list.status, 200, 'other routes are not limited')
  t.equal(list.headers.get('x-ratelimit-limit'), null)
  t.equal(((await list.json()) as { items: unknown[] }).items.length, 4, 'the limited request created no job')
})

t.test('rejected requests count too, but unauthenticated ones never spend a key\'s budget', async (t) => {
  const server = await startServer(t, { config: configWith({ API_KEYS, RATE_LIMIT_JOBS_PER_MINUTE: '2' }) })
  for (let i = 0; i < 5; i++) {
    await (await server.postJson('/jobs', tutorialJob(), { authorization: 'Bearer not-a-key-0123456789abcdef' })).arrayBuffer()
  }
  t.equal((await server.postJson('/jobs', { name: 'bad' }, as(ALICE))).status, 400)
  t.equal((await server.postJson('/jobs', tutorialJob(), as(ALICE))).status, 202)
  await expectRateLimited(t, await server.postJson('/jobs', tutorialJob(), as(ALICE)), 2)
})

t.test('GET and POST /predict share one budget per key', async (t) => {
  const server = await startServer(t, { config: configWith({ API_KEYS, RATE_LIMIT_PREDICT_PER_MINUTE: '2' }) })
  const get = () => server.fetch(`/predict?job=${NO_JOB}&input=abc`, { headers: as(ALICE) })
  const post = () => server.postJson('/predict', { job: NO_JOB, inputs: ['abc'] }, as(ALICE))
  await readError(t, await get(), { statusCode: 404, code: 'job_not_found', error: 'Not Found' })
  await readError(t, await post(), { statusCode: 404, code: 'job_not_found', error: 'Not Found' })
  const body = await expectRateLimited(t, await get(), 2)
  t.match(body.message, /to GET\/POST \/predict and the \/v2 model routes exceeded by this API key/)
  await expectRateLimited(t, await post(), 2)
  t.equal((await server.fetch(`/predict?job=${NO_JOB}&input=abc`, { headers: as(BOB) })).status, 404, 'Bob has his own budget')
})

t.test('without API keys the budget is per client address', async (t) => {
  const server = await startServer(t, { config: configWith({ RATE_LIMIT_JOBS_PER_MINUTE: '1' }) })
  t.equal((await server.postJson('/jobs', tutorialJob())).status, 202)
  const body = await expectRateLimited(t, await server.postJson('/jobs', tutorialJob()), 1)
  t.match(body.message, /exceeded by this client address/)
})

t.test('a limit of 0 means unlimited', async (t) => {
  const server = await startServer(t, { config: configWith({ RATE_LIMIT_JOBS_PER_MINUTE: '0' }) })
  for (let i = 0; i < 5; i++) {
    const response = await server.postJson('/jobs', tutorialJob())
    t.equal(response.status, 202)
    t.equal(response.headers.get('x-ratelimit-limit'), null, 'no rate limit headers')
    await response.arrayBuffer()
  }
})

t.test('MAX_QUEUED_JOBS: a full queue answers 503 queue_full; replays still get their job', async (t) => {
  // training: false (the default) -> the runner never starts, so submitted jobs stay queued.
  const server = await startServer(t, { config: configWith({ MAX_QUEUED_JOBS: '2' }) })
  const submit = (name: string, headers: Record<string, string> = {}) => server.postJson('/jobs', tutorialJob({ name }), headers)
  const first = await submit('first', { 'idempotency-key': 'first-job' })
  t.equal(first.status, 202)
  const firstJob = (await first.json()) as { id: string }
  const second = await submit('second')
  t.equal(second.status, 202)
  const secondJob = (await second.json()) as { id: string }

  const full = await submit('third')
  t.equal(full.headers.get('retry-after'), '30')
  const body = await readError(t, full, { statusCode: 503, code: 'queue_full', error: 'Service Unavailable' })
  t.equal(body.message, 'The job queue is full (2 jobs queued, MAX_QUEUED_JOBS=2); retry later')
  t.same(body.details, { queued: 2, max_queued_jobs: 2 })

  const replay = await submit('first', { 'idempotency-key': 'first-job' })
  t.equal(replay.status, 202, 'an idempotent replay is not a new job')
  t.equal(replay.headers.get('idempotent-replayed'), 'true')
  t.equal(((await replay.json()) as { id: string }).id, firstJob.id)

  const mismatch = await submit('other-body', { 'idempotency-key': 'first-job' })
  await readError(t, mismatch, { statusCode: 422, code: 'idempotency_mismatch', error: 'Unprocessable Entity' })

  const newKey = await submit('third', { 'idempotency-key': 'third-job' })
  t.equal(newKey.status, 503, 'a new idempotency key is a new job and waits too')
  await newKey.arrayBuffer()

  t.equal((await server.fetch(`/jobs/${secondJob.id}/cancel`, { method: 'POST' })).status, 202)
  const room = await submit('third')
  t.equal(room.status, 202, 'a cancelled job leaves the queue and makes room')
  await room.arrayBuffer()
})

/**
 * Keeps the event loop busy (100 ms of every ~100 ms) so its mean delay is far above the
 * threshold for as long as it runs: no dependence on how long one blocking call takes.
 */
function saturateEventLoop(): () => void {
  const timer = setInterval(() => {
    const until = Date.now() + 100
    while (Date.now() < until) { /* busy */ }
  }, 1)
  return () => clearInterval(timer)
}

async function pollStatus(server: TestServer, path: string, wanted: number, deadlineMs = 30_000): Promise<Response> {
  const deadline = Date.now() + deadlineMs
  for (;;) {
    const response = await server.fetch(path)
    if (response.status === wanted) return response
    await response.arrayBuffer()
    if (Date.now() > deadline) throw new Error(`GET ${path} never answered ${wanted}; last ${response.status}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

t.test('under event loop pressure requests are shed with 503 and Retry-After; liveness still answers', async (t) => {
  const server = await startServer(t, { config: configWith({ MAX_EVENT_LOOP_DELAY_MS: '20' }) })
  // A loaded machine can delay a fresh server's loop past 20 ms on its own: wait until it is idle.
  const idle = await pollStatus(server, '/jobs', 200)
  t.equal(idle.status, 200, 'served while the loop is idle')
  await idle.arrayBuffer()

  const stop = saturateEventLoop()
  t.teardown(stop)
  const shed = await pollStatus(server, '/jobs', 503)
  t.equal(shed.headers.get('retry-after'), '5')
  const body = await readError(t, shed, { statusCode: 503, code: 'service_unavailable', error: 'Service Unavailable' })
  t.equal(body.message, 'The server is overloaded; retry in 5 s')

  t.equal(server.app.isUnderPressure(), true, 'still under pressure')
  const health = await server.fetch('/healthz')
  t.equal(health.status, 200, '/healthz is exempt')
  t.same(await health.json(), { status: 'ok' })
  t.equal(server.app.isUnderPressure(), true, 'and was answered under pressure')
  const docs = await server.fetch('/docs/json')
  t.equal(docs.status, 503, 'the docs are shed like the API')
  await docs.arrayBuffer()

  stop()
  await (await pollStatus(server, '/jobs', 200)).arrayBuffer()
  t.pass('served again once the loop recovers')
})

t.test('MAX_EVENT_LOOP_DELAY_MS=0 turns load shedding off', async (t) => {
  const server = await startServer(t, { config: configWith({ MAX_EVENT_LOOP_DELAY_MS: '0' }) })
  const stop = saturateEventLoop()
  t.teardown(stop)
  // Wait out two of under-pressure's one-second samples under full load, then ask.
  await new Promise((resolve) => setTimeout(resolve, 2500))
  t.equal(server.app.isUnderPressure(), false)
  t.equal((await server.fetch('/jobs')).status, 200)
  stop()
})
