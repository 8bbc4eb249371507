/**
 * Serving benchmark (issue 9), all in one run so the ratios compare like with like on a
 * shared machine: a bare fastify route, GET /predict on the seed model, POST /v2 infer, a
 * text model (LSTM-256, length 100) with and without micro-batching, the same seed-model
 * route and POST /jobs while the training pool is saturated, and the stall test (latency of
 * cheap requests while the most expensive admitted prediction runs back to back).
 *
 *   npm run bench:http [-- --duration 10 --connections 32 --json out.json]
 *
 * The servers run in child processes (scripts/bench-http-server.ts) with the default
 * configuration; autocannon drives them from this process. Prints a table and JSON.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import autocannon from 'autocannon'

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1]! : fallback
}
const DURATION = Number(arg('duration', '10'))
const CONNECTIONS = Number(arg('connections', '32'))
const JSON_OUT = arg('json', '')

interface Server { url: string; bare: string; loop: string; workers: number; predictWorkers: number; batchRows: number; batchDelayMs: number; child: ChildProcess }

async function startServer(env: Record<string, string>): Promise<Server> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/bench-http-server.ts'], {
    env: { ...process.env, LOG_LEVEL: 'silent', ...env }, stdio: ['ignore', 'pipe', 'inherit'],
  })
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve)
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)))
  })
  measured = { ...(JSON.parse(line) as Omit<Server, 'child'>), child }
  return measured
}

async function stopServer(server: Server): Promise<void> {
  const exited = new Promise((resolve) => server.child.once('exit', resolve))
  server.child.kill('SIGTERM')
  await exited
}

async function post(url: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  return { status: response.status, json: await response.json() as Record<string, unknown> }
}

async function train(server: Server, body: Record<string, unknown>): Promise<string> {
  const { status, json } = await post(`${server.url}/jobs`, body)
  if (status !== 202) throw new Error(`POST /jobs -> ${status} ${JSON.stringify(json)}`)
  for (;;) {
    const job = await (await fetch(`${server.url}/jobs/${json.id as string}`)).json() as { status: string }
    if (job.status === 'succeeded') return json.id as string
    if (job.status === 'failed' || job.status === 'cancelled') throw new Error(`job ${String(body.name)} ${job.status}`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

interface Run {
  name: string
  requestsPerSecond: number
  p50: number
  p99: number
  max: number
  total: number
  non2xx: number
  errors: number
  statuses: Record<string, number>
  /** The server's event loop over the run: its longest delay and GC pause (ms). */
  loopMaxMs: number
  gcMaxMs: number
  /**
   * The server process's CPU time (all threads, user + system) per answered request, in µs:
   * steadier than req/s on a shared machine, where the load generator competes for the cores.
   */
  serverCpuUsPerRequest: number
}

/** The server being measured (its event loop is sampled around every run). */
let measured: Server | null = null

const loopStats = async () => (measured ? await (await fetch(measured.loop)).json() as { loopMaxMs: number; gcMaxMs: number; cpuUs: number } : { loopMaxMs: NaN, gcMaxMs: NaN, cpuUs: NaN })

async function load(name: string, options: autocannon.Options): Promise<Run> {
  const { cpuUs: cpuBefore } = await loopStats()
  const result = await autocannon({ connections: CONNECTIONS, duration: DURATION, ...options })
  const { loopMaxMs, gcMaxMs, cpuUs } = await loopStats()
  const statuses = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, stat]) => [code, (stat as { count: number }).count]))
  const run = {
    name, requestsPerSecond: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max,
    total: result.requests.total, non2xx: result.non2xx, errors: result.errors + result.timeouts, statuses, loopMaxMs, gcMaxMs,
    serverCpuUsPerRequest: Math.round(((cpuUs - cpuBefore) / result.requests.total) * 10) / 10,
  }
  process.stderr.write(`${name}: ${run.requestsPerSecond.toFixed(0)} req/s, p99 ${run.p99} ms, max ${run.max} ms, non-2xx ${run.non2xx}, event loop max ${loopMaxMs.toFixed(1)} ms, GC max ${gcMaxMs.toFixed(1)} ms\n`)
  return run
}

/** The server's batch-size histogram (`seqserve_predict_batch_rows`): batches per `le` bucket, cumulative. */
async function batchRows(server: Server): Promise<Record<string, number>> {
  const text = await (await fetch(`${server.url}/metrics`)).text()
  const buckets: Record<string, number> = {}
  for (const match of text.matchAll(/^seqserve_predict_batch_rows_bucket\{le="([^"]+)"[^}]*\} (\d+)/gm)) buckets[match[1]] = Number(match[2])
  return buckets
}

/** Batches per rows bucket (`<=1`, `2-8`, ...) between two readings of the cumulative histogram. */
function histogramDelta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const delta: Record<string, number> = {}
  let previous = { le: '0', count: 0 }
  for (const [le, count] of Object.entries(after)) {
    const cumulative = count - (before[le] ?? 0)
    const from = Number(previous.le) + 1
    const label = le === '+Inf' ? `>${previous.le}` : from >= Number(le) ? `${le}` : `${from}-${le}`
    if (cumulative - previous.count > 0) delta[label] = cumulative - previous.count
    previous = { le, count: cumulative }
  }
  return delta
}

const TEXT = 'the cat sat on the mat and the dog sat on the log; a bird sang in the tree while the sun set. '.repeat(6)
const LONG_JOB = { name: 'saturator', model: { type: 'lstm', hidden_size: 64 }, data: { type: 'text', text: TEXT, seq_len: 32 }, training: { epochs: 100000, checkpoint_every: 50 } }

async function main(): Promise<void> {
  const dir = mkdtempSync(join(os.tmpdir(), 'seqserve-bench-http-'))
  const db = join(dir, 'bench.db')
  const loadBefore = os.loadavg()
  // POST /jobs at 20/s would hit the default 60/minute limit: the bench measures shedding, not rate limits.
  const server = await startServer({ DATABASE_PATH: db, RATE_LIMIT_JOBS_PER_MINUTE: '0' })
  const runs: Run[] = []
  const notes: Record<string, unknown> = {}
  try {
    process.stderr.write('training the seed model (tutorial) and a text model (LSTM-256)...\n')
    await train(server, { name: 'greeter', model: { type: 'rnn', hidden_size: 8 }, data: { type: 'pairs', pairs: [{ input: 'hello', target: 'elloh' }] }, training: { epochs: 200, learning_rate: 0.1, batch_size: 1 } })
    await train(server, { name: 'poet', model: { type: 'lstm', hidden_size: 256 }, data: { type: 'text', text: TEXT, seq_len: 32 }, training: { epochs: 1, batch_size: 8 } })

    const seed = `${server.url}/predict?model=greeter&input=hello`
    const text = `${server.url}/predict?model=poet&input=the&length=100&seed=1`
    const v2 = { url: `${server.url}/v2/models/greeter/infer`, method: 'POST' as const, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: [{ name: 'input', shape: [1], datatype: 'BYTES', data: ['hello'] }] }) }

    runs.push(await load('bare fastify route', { url: server.bare }))
    runs.push(await load('GET /predict seed model', { url: seed }))
    runs.push(await load('POST /v2/models/greeter/infer', v2))
    const rowsBefore = await batchRows(server)
    runs.push(await load('text LSTM-256 length 100 (micro-batching)', { url: text }))
    notes.textBatchRows = histogramDelta(rowsBefore, await batchRows(server))
    process.stderr.write(`  batches by rows (PREDICT_BATCH_ROWS=${server.batchRows}): ${JSON.stringify(notes.textBatchRows)}\n`)

    // The most expensive prediction the default budget admits on the text model: length
    // 2000 and the longest prompt that still passes admission.
    let prompt = TEXT.slice(0, 560)
    for (;;) {
      const probe = await fetch(`${server.url}/predict?${new URLSearchParams({ model: 'poet', input: prompt, length: '1' })}`)
      const estimate = await fetch(`${server.url}/predict?${new URLSearchParams({ model: 'poet', input: prompt, length: '2000' })}`)
      await probe.arrayBuffer()
      if (estimate.status === 200) { await estimate.arrayBuffer(); break }
      prompt = prompt.slice(0, Math.floor(prompt.length * 0.8))
    }
    const expensive = `${server.url}/predict?${new URLSearchParams({ model: 'poet', input: prompt, length: '2000', seed: '1' })}`
    let stop = false
    const durations: number[] = []
    const heavy = (async () => {
      while (!stop) {
        const started = performance.now()
        const response = await fetch(expensive)
        await response.arrayBuffer()
        if (response.status !== 200) throw new Error(`expensive prediction -> ${response.status}`)
        durations.push(performance.now() - started)
      }
    })()
    await new Promise((resolve) => setTimeout(resolve, 300))
    runs.push(await load('stall: GET /healthz during the most expensive prediction', { url: `${server.url}/healthz`, connections: 4 }))
    runs.push(await load('stall: GET /jobs?limit=5 during the most expensive prediction', { url: `${server.url}/jobs?limit=5`, connections: 4 }))
    runs.push(await load('stall: GET /predict seed model during the most expensive prediction', { url: seed, connections: 4 }))
    stop = true
    await heavy
    notes.expensivePrediction = { promptChars: prompt.length, length: 2000, runs: durations.length, meanMs: durations.reduce((a, b) => a + b, 0) / durations.length, maxMs: Math.max(...durations) }

    // The training pool saturated: one long job per training worker (and more queued).
    const long: string[] = []
    for (let i = 0; i < server.workers + 1; i++) long.push((await post(`${server.url}/jobs`, { ...LONG_JOB, name: `saturator-${i}` })).json.id as string)
    await new Promise((resolve) => setTimeout(resolve, 1000))
    runs.push(await load('GET /predict seed model, training saturated', { url: seed }))
    runs.push(await load('POST /jobs at 20/s, training saturated', {
      url: `${server.url}/jobs`, method: 'POST', connections: 4, overallRate: 20, headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'queued', model: { type: 'rnn', hidden_size: 8 }, data: { type: 'pairs', pairs: [{ input: 'ab', target: 'ba' }] }, training: { epochs: 1 } }),
    }))
    for (const id of long) await post(`${server.url}/jobs/${id}/cancel`, {})
  } finally {
    await stopServer(server)
  }

  // Unbatched text predictions: the same database, PREDICT_BATCH_ROWS=1. ROLE=api (same
  // inference pool): the jobs queued by the POST /jobs scenario must not train during this
  // run, as nothing trained during the batched one.
  const unbatched = await startServer({ DATABASE_PATH: db, PREDICT_BATCH_ROWS: '1', WORKERS: '1', ROLE: 'api' })
  try {
    runs.push(await load('text LSTM-256 length 100 (PREDICT_BATCH_ROWS=1)', { url: `${unbatched.url}/predict?model=poet&input=the&length=100&seed=1` }))
  } finally {
    await stopServer(unbatched)
    rmSync(dir, { recursive: true, force: true })
  }

  const by = (name: string) => runs.find((r) => r.name.startsWith(name))!
  const ratios = {
    seedVsBare: by('GET /predict seed model').requestsPerSecond / by('bare fastify route').requestsPerSecond,
    v2VsBare: by('POST /v2').requestsPerSecond / by('bare fastify route').requestsPerSecond,
    textBatchedVsUnbatched: by('text LSTM-256 length 100 (micro').requestsPerSecond / by('text LSTM-256 length 100 (PREDICT').requestsPerSecond,
    /** The same comparison by the server's CPU per request (bare ÷ seed: higher is better). */
    seedVsBareByCpu: by('bare fastify route').serverCpuUsPerRequest / by('GET /predict seed model').serverCpuUsPerRequest,
  }
  const report = {
    command: `npm run bench:http -- --duration ${DURATION} --connections ${CONNECTIONS}`,
    machine: { cores: os.availableParallelism(), cpu: os.cpus()[0]?.model, loadavgBefore: loadBefore, loadavgAfter: os.loadavg() },
    workers: { training: server.workers, inference: server.predictWorkers },
    batching: { rows: server.batchRows, delayMs: server.batchDelayMs },
    ratios, notes, runs,
  }
  if (JSON_OUT) writeFileSync(JSON_OUT, `${JSON.stringify(report, null, 2)}\n`)
  console.log(JSON.stringify(report, null, 2))
  console.log(`\n| scenario | req/s | p50 ms | p99 ms | max ms | statuses | errors | event loop max ms | GC max ms | server CPU µs/req |\n|---|---|---|---|---|---|---|---|---|---|`)
  for (const r of runs) {
    const statuses = Object.entries(r.statuses).map(([code, count]) => `${code}×${count}`).join(' ')
    console.log(`| ${r.name} | ${r.requestsPerSecond.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.max} | ${statuses} | ${r.errors} | ${r.loopMaxMs.toFixed(1)} | ${r.gcMaxMs.toFixed(1)} | ${r.serverCpuUsPerRequest.toFixed(1)} |`)
  }
  console.log(`\nseed GET /predict / bare: ${ratios.seedVsBare.toFixed(2)}; v2 infer / bare: ${ratios.v2VsBare.toFixed(2)}; text batched / unbatched: ${ratios.textBatchedVsUnbatched.toFixed(2)}; by server CPU per request, bare / seed: ${ratios.seedVsBareByCpu.toFixed(2)}`)
  console.log(`load average (1, 5, 15 min) before ${loadBefore.map((l) => l.toFixed(1)).join(', ')}, after ${os.loadavg().map((l) => l.toFixed(1)).join(', ')} on ${os.availableParallelism()} cores`)
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
