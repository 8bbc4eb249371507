/**
 * GET /jobs/{id}/events (Server-Sent Events) against the real service: every epoch of a
 * 50-epoch job arrives exactly once across a reconnect with Last-Event-ID and across a
 * service restart (SIGTERM, the job requeued and resumed by the next process), the stream
 * ends with the final status, and heartbeat comments keep an idle stream alive. `progress`
 * events inside epochs come from the database (a server that does not train streams them);
 * GET /events streams every job once, by name, resumably.
 */
import path from 'node:path'
import t, { type Test } from 'tap'
import { longJob, textJob, tutorialJob } from '../helpers/jobs.js'
import { startMain } from '../helpers/process.js'
import { readError, startServer } from '../helpers/server.js'
import { startService, tempDir } from '../helpers/service.js'
import { type SseEvent, openSse } from '../helpers/sse.js'
import { testConfig } from '../helpers/config.js'

const dir = tempDir(t)
const job50 = () => longJob({ name: 'streamed', model: { hidden_size: 48 }, training: { epochs: 50, checkpoint_every: 5 } })

/** Reads events until `stop(event)` holds or the stream ends; returns what it read. */
async function readUntil(stream: Awaited<ReturnType<typeof openSse>>, stop: (e: SseEvent) => boolean = () => false): Promise<SseEvent[]> {
  const out: SseEvent[] = []
  for (;;) {
    const e = await stream.next()
    if (e === null) return out
    out.push(e)
    if (stop(e)) return out
  }
}

function checkHistory(t: Test, events: SseEvent[], losses: { epoch: number; loss: number }[]): void {
  const epochs = events.filter((e) => e.event === 'epoch').map((e) => e.data as { epoch: number; loss: number })
  t.same(epochs.map((e) => e.epoch), Array.from({ length: 50 }, (_, i) => i + 1), 'epochs 1..50, each exactly once, in order')
  t.same(epochs.map((e) => e.loss), losses.map((p) => p.loss), 'the losses GET /losses returns')
  const finals = events.filter((e) => e.event === 'status' && (e.data as { status: string }).status === 'succeeded')
  t.equal(finals.length, 1, 'one final status event')
  t.equal(events.at(-1), finals[0], 'the stream ends with it')
}

t.test('a reconnect with Last-Event-ID continues without gaps or repeats', async (t) => {
  const service = await startService(t, { dir, workers: 1 })
  const job = await service.submitOk(job50())
  const first = await openSse(`${service.baseUrl}/jobs/${job.id}/events`)
  t.equal(first.response.status, 200)
  t.match(first.response.headers.get('content-type'), /^text\/event-stream/)
  const before = await readUntil(first, (e) => e.event === 'epoch' && (e.data as { epoch: number }).epoch === 10)
  first.close()
  t.ok(before.some((e) => e.event === 'status' && (e.data as { status: string }).status === 'running'), 'a running status event came first')
  const lastId = before.at(-1)!.id!
  t.equal(lastId, '10.running', 'ids say the last epoch and status seen')
  await service.waitForJob(job.id, (j) => j.progress.epoch >= 30)
  const second = await openSse(`${service.baseUrl}/jobs/${job.id}/events`, { 'last-event-id': lastId })
  const after = await readUntil(second)
  t.notOk(after.some((e) => e.event === 'status' && (e.data as { status: string }).status === 'running'), 'no repeated running status')
  checkHistory(t, [...before, ...after], await service.losses(job.id))
  const epochEvent = after.find((e) => e.event === 'epoch')!.data as Record<string, unknown>
  t.match(epochEvent, { epoch: 11, epochs: 50, lr: 0.01, metrics: { perplexity: Number, bpc: Number } }, 'epoch events carry lr and metrics')
  t.type(after.filter((e) => e.event === 'epoch').at(-2)!.data, Object)
  t.ok(typeof (after.at(-2)!.data as { eta_seconds: unknown }).eta_seconds === 'number', 'and an ETA')

  const replay = await readUntil(await openSse(`${service.baseUrl}/jobs/${job.id}/events`))
  checkHistory(t, replay, await service.losses(job.id))
  t.same(await readUntil(await openSse(`${service.baseUrl}/jobs/${job.id}/events`, { 'last-event-id': replay.at(-1)!.id! })), [], 'after the final event there is nothing more')
  await readError(t, await service.fetch('/jobs/nope/events'), { statusCode: 404, code: 'job_not_found', error: 'Not Found' })
})

t.test('across a service restart: the stream ends on shutdown and resumes on the next process', async (t) => {
  const dbPath = path.join(t.testdir({}), 'seqserve.db')
  const env = { DATABASE_PATH: dbPath, WORKERS: '1', MAX_EVENT_LOOP_DELAY_MS: '0' }
  const first = await startMain(t, { env })
  const submitted = await fetch(`${first.url}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(job50()) })
  const job = (await submitted.json()) as { id: string }
  const stream = await openSse(`${first.url}/jobs/${job.id}/events`)
  const before = await readUntil(stream, (e) => e.event === 'epoch' && (e.data as { epoch: number }).epoch >= 5)
  first.child.kill('SIGTERM')
  before.push(...await readUntil(stream))
  t.equal(await first.exited, 0, 'the first process shut down cleanly, ending the stream')
  const seen = before.filter((e) => e.event === 'epoch').length
  t.ok(seen >= 5 && seen < 50, `the first process streamed ${seen} epochs before it stopped`)

  const second = await startMain(t, { env })
  const after = await readUntil(await openSse(`${second.url}/jobs/${job.id}/events`, { 'last-event-id': before.at(-1)!.id! }))
  const losses = ((await (await fetch(`${second.url}/jobs/${job.id}/losses`)).json()) as { losses: { epoch: number; loss: number }[] }).losses
  checkHistory(t, [...before, ...after], losses)
  t.ok(after.filter((e) => e.event !== 'progress').every((e) => e.id !== null && /^\d+\.[a-z]+$/.test(e.id)), 'every status and epoch event has an id to resume from')
})

t.test('heartbeat comments on an idle stream', async (t) => {
  const server = await startServer(t, { config: testConfig({ eventsHeartbeatMs: 100 }) })
  const response = await server.postJson('/jobs', longJob())
  const { id } = (await response.json()) as { id: string }
  const stream = await openSse(`${server.baseUrl}/jobs/${id}/events`)
  const queued = await stream.next()
  t.match(queued, { event: 'status', id: '0.queued', data: { status: 'queued', epoch: 0 } }, 'the queued job says so')
  await new Promise((resolve) => setTimeout(resolve, 450))
  await server.postJson(`/jobs/${id}/cancel`, {})
  const cancelled = await stream.next()
  t.match(cancelled, { event: 'status', data: { status: 'cancelled' } }, 'then its end')
  t.ok(stream.comments.filter((c) => c === 'heartbeat').length >= 2, `heartbeats while idle (${stream.comments.length})`)
  t.equal(await stream.next(), null, 'and the stream ends')
})

t.test('progress events inside epochs come from the database: a server that does not train streams them', async (t) => {
  const databasePath = path.join(t.testdir({}), 'seqserve.db')
  // One app trains (reporting every 50 ms); the other only serves the API, so nothing it
  // streams can come from its own memory or wake-ups: it reads what the trainer persisted.
  const trainer = await startServer(t, { config: testConfig({ databasePath, progressIntervalMs: 50 }), training: true })
  const api = await startServer(t, { config: testConfig({ databasePath }) })
  // Long epochs: 1874 batches of one sequence each.
  const text = 'abcdefghij'.repeat(1500)
  const job = (await (await api.postJson('/jobs', longJob({ model: { hidden_size: 32 }, data: { text }, training: { batch_size: 1 } }))).json()) as { id: string }
  const stream = await openSse(`${api.baseUrl}/jobs/${job.id}/events`)
  const seen: SseEvent[] = []
  let progress: SseEvent | undefined
  for (let e = await stream.next(); e !== null; e = await stream.next()) {
    seen.push(e)
    if (e.event === 'progress') progress ??= e
    // An epoch after the first progress event (and after the first epoch, which has no pace yet), for its throughput and ETA.
    if (progress && e.event === 'epoch' && (e.data as { epoch: number }).epoch >= 2 && seen.indexOf(e) > seen.indexOf(progress)) break
  }
  stream.close()
  await trainer.postJson(`/jobs/${job.id}/cancel`, {})
  t.ok(progress, 'a progress event arrived')
  const before = seen.slice(0, seen.indexOf(progress!)).filter((e) => e.event === 'epoch').length
  const data = progress!.data as { epoch: number; epochs: number; batch: number; batches: number; tokens_per_second: number; at: string }
  t.equal(progress!.id, null, 'progress events carry no id (never replayed; Last-Event-ID stays on the last epoch)')
  t.equal(data.epoch, before + 1, 'it is about the epoch in training')
  t.ok(data.batch >= 1 && data.batch < data.batches, `batch ${data.batch} of ${data.batches}`)
  t.equal(data.batches, Math.ceil((text.length - 1) / 16), 'the epoch\'s batches: one per 16-character sequence of the text')
  t.ok(data.tokens_per_second > 0, `tokens per second (${data.tokens_per_second})`)
  const epoch = seen.at(-1)!.data as { tokens_per_second: unknown; eta_seconds: unknown }
  t.ok(typeof epoch.tokens_per_second === 'number' && epoch.tokens_per_second > 0, 'epoch events carry the throughput')
  t.type(epoch.eta_seconds, 'number', 'and the ETA')
  const epochs = seen.filter((e) => e.event === 'epoch').map((e) => (e.data as { epoch: number }).epoch)
  t.same(epochs, Array.from({ length: epochs.length }, (_, i) => i + 1), 'epochs in order, once each, around the progress events')
})

t.test('GET /events: every job\'s events once, filtered by name, resumable with Last-Event-ID', async (t) => {
  const server = await startServer(t, { training: true })
  type Event = SseEvent & { data: { job: string; name: string; status?: string; epoch: number } }
  const finals = (events: SseEvent[]) => events.filter((e) => e.event === 'status' && ['succeeded', 'failed', 'cancelled'].includes((e.data as { status: string }).status))
  const everything = await openSse(`${server.baseUrl}/events`)
  const greeters = await openSse(`${server.baseUrl}/events?name=greeter`)
  const submit = async (body: Record<string, unknown>) => ((await (await server.postJson('/jobs', body)).json()) as { id: string }).id
  const a = await submit(tutorialJob({ training: { epochs: 30 } }))
  const other = await submit(textJob({ training: { epochs: 20 } }))
  const b = await submit(tutorialJob({ training: { epochs: 25 } }))

  // The name filter, read in two connections: the second continues from the first's last id.
  const first: Event[] = []
  while (first.filter((e) => e.event === 'epoch').length < 12) first.push((await greeters.next()) as Event)
  greeters.close()
  const lastId = first.filter((e) => e.id !== null).at(-1)!.id!
  t.match(lastId, /^\d+~/, 'the id is the position of the whole stream')
  const resumed = await openSse(`${server.baseUrl}/events?name=greeter`, { 'last-event-id': lastId })
  const second: Event[] = []
  while (finals(second).length < 2 - finals(first).length) second.push((await resumed.next()) as Event)
  resumed.close()
  const filtered = [...first, ...second]
  t.same([...new Set(filtered.map((e) => e.data.job))].sort(), [a, b].sort(), 'only the jobs of that name')
  const epochsOf = (events: Event[], id: string) => events.filter((e) => e.event === 'epoch' && e.data.job === id).map((e) => e.data.epoch)
  t.same(epochsOf(filtered, a), Array.from({ length: 30 }, (_, i) => i + 1), 'every epoch of the first once, across the reconnect')
  t.same(epochsOf(filtered, b), Array.from({ length: 25 }, (_, i) => i + 1), 'every epoch of the second once')
  t.equal(finals(filtered).length, 2, 'one final status each')
  t.ok(filtered.every((e) => e.data.name === 'greeter'), 'events name their job and its name')

  // catch_up: what is pending since an id, then the stream ends (for polling).
  const poll = await openSse(`${server.baseUrl}/events?name=greeter&catch_up=true`, { 'last-event-id': lastId })
  const polled: Event[] = []
  for (let e = await poll.next(); e !== null; e = await poll.next()) polled.push(e as Event)
  t.same(epochsOf(polled, a), epochsOf(second, a), 'catch_up sends the epochs after the id, as the resumed stream did')
  t.same(epochsOf(polled, b), epochsOf(second, b))
  t.equal(finals(polled).length, 2, 'and both ends, then closes')

  // Unfiltered: all three jobs, from their queued status to their end.
  const all: Event[] = []
  while (finals(all).length < 3) all.push((await everything.next()) as Event)
  everything.close()
  t.same(epochsOf(all, other), Array.from({ length: 20 }, (_, i) => i + 1), 'the other job too')
  for (const id of [a, other, b]) {
    const statuses = all.filter((e) => e.event === 'status' && e.data.job === id).map((e) => e.data.status)
    t.same(statuses, ['queued', 'running', 'succeeded'], `${id.slice(0, 8)}: each status once`)
  }

  // A stream opened now starts at the present: the finished jobs are not replayed.
  const late = await openSse(`${server.baseUrl}/events`)
  const d = await submit(tutorialJob({ name: 'late', training: { epochs: 3 } }))
  const lateEvents: Event[] = []
  while (finals(lateEvents).length < 1) lateEvents.push((await late.next()) as Event)
  late.close()
  t.same([...new Set(lateEvents.map((e) => e.data.job))], [d], 'only the job queued after it opened')
})
