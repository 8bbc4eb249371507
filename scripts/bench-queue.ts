/**
 * `npm run bench:queue`: the job queue across processes, SQLite and PostgreSQL side by side
 * in one run (the machine's load moves absolute figures; compare the two columns).
 *
 * For each database: 2 API nodes and 2 worker nodes (the real src/main.ts, ROLE=api/worker).
 *  - claim latency: with every worker idle, one tiny job at a time is submitted; the
 *    latency is its started_at - created_at (submit -> a worker on another process runs it).
 *  - accepted/s: the workers are stopped, then JOBS submissions from CONCURRENCY clients,
 *    alternating between the two API nodes, are timed until the last 202.
 * Prints a table and one JSON line per database.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startPostgres } from '../test/helpers/postgres-cluster.js'
import { spawnMain } from '../test/helpers/process.js'

const JOBS = Number(process.env.BENCH_QUEUE_JOBS ?? 400)
const CONCURRENCY = Number(process.env.BENCH_QUEUE_CONCURRENCY ?? 16)
const LATENCY_SAMPLES = Number(process.env.BENCH_QUEUE_SAMPLES ?? 20)

const TINY_JOB = {
  name: 'bench',
  model: { type: 'rnn', hidden_size: 4 },
  data: { type: 'pairs', pairs: [{ input: 'ab', target: 'ba' }] },
  training: { epochs: 1 },
}

interface Node { url: string; stop(signal: NodeJS.Signals): Promise<unknown> }

async function post(url: string): Promise<{ id: string }> {
  const response = await fetch(`${url}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(TINY_JOB) })
  if (response.status !== 202) throw new Error(`POST /jobs -> ${response.status} ${await response.text()}`)
  return (await response.json()) as { id: string }
}

async function job(url: string, id: string): Promise<{ status: string; created_at: string; started_at: string | null }> {
  return (await (await fetch(`${url}/jobs/${id}`)).json()) as { status: string; created_at: string; started_at: string | null }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]
}

async function measure(label: string, database: Record<string, string>): Promise<Record<string, unknown>> {
  const nodes: Node[] = []
  const start = async (env: Record<string, string>) => {
    const node = await startNode({ ...database, ...env })
    nodes.push(node)
    return node
  }
  try {
    const [apiA, apiB] = await Promise.all([start({ ROLE: 'api', NODE_ID: 'api-a' }), start({ ROLE: 'api', NODE_ID: 'api-b' })])
    const workers = await Promise.all([start({ ROLE: 'worker', NODE_ID: 'w1', WORKERS: '1' }), start({ ROLE: 'worker', NODE_ID: 'w2', WORKERS: '1' })])

    const latencies: number[] = []
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const via = i % 2 === 0 ? apiA : apiB
      const { id } = await post(via.url)
      for (;;) {
        const state = await job(via.url, id)
        if (state.status === 'succeeded' || state.status === 'failed') {
          latencies.push(Date.parse(state.started_at!) - Date.parse(state.created_at))
          break
        }
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      // Let the workers go idle again (waiting on LISTEN or their poll), as a fresh submission finds them.
      await new Promise((resolve) => setTimeout(resolve, 150))
    }
    latencies.sort((a, b) => a - b)

    await Promise.all(workers.map((w) => w.stop('SIGTERM')))
    let next = 0
    const began = performance.now()
    await Promise.all(Array.from({ length: CONCURRENCY }, async (_, c) => {
      while (next < JOBS) {
        next++
        await post((next + c) % 2 === 0 ? apiA.url : apiB.url)
      }
    }))
    const seconds = (performance.now() - began) / 1000
    return {
      database: label,
      accepted_per_s: Math.round(JOBS / seconds),
      jobs: JOBS,
      concurrency: CONCURRENCY,
      claim_latency_ms: { median: percentile(latencies, 0.5), p90: percentile(latencies, 0.9), max: latencies.at(-1), samples: latencies.length },
    }
  } finally {
    await Promise.all(nodes.map((n) => n.stop('SIGKILL')))
  }
}

async function startNode(env: Record<string, string>): Promise<Node> {
  const service = spawnMain({ env: { ...env, MAX_EVENT_LOOP_DELAY_MS: '0', RATE_LIMIT_JOBS_PER_MINUTE: '0', MAX_QUEUED_JOBS: '1000000' }, startTimeoutMs: 60_000 })
  const url = await service.listening
  return {
    url,
    async stop(signal) {
      if (service.child.exitCode === null && service.child.signalCode === null) service.child.kill(signal)
      return service.exited
    },
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'seqserve-bench-queue-'))
  const cluster = await startPostgres()
  try {
    const results = [
      await measure('sqlite', { DATABASE_PATH: join(dir, 'bench.db') }),
      await measure('postgres', { DATABASE_URL: await cluster.createDatabase('bench') }),
    ]
    console.log(`\n| database | jobs accepted/s (2 API nodes, ${CONCURRENCY} clients) | claim latency median / p90 / max (ms, idle workers) |`)
    console.log('|---|---|---|')
    for (const r of results) {
      const l = r.claim_latency_ms as { median: number; p90: number; max: number }
      console.log(`| ${r.database} | ${r.accepted_per_s} | ${l.median} / ${l.p90} / ${l.max} |`)
    }
    console.log('')
    for (const r of results) console.log(JSON.stringify(r))
  } finally {
    await cluster.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
