/**
 * `npx tsx scripts/measure-wal.ts`: how large the SQLite -wal file grows while the real
 * service (src/main.ts) trains many small jobs (issue 8: 500 jobs left a 311 MB WAL).
 * Submits WAL_JOBS small jobs (default 500) in waves, samples the -wal size every 200 ms,
 * and prints the peak and final sizes and the database size as one JSON line. WAL_SPLIT=1
 * runs an API process and a worker process on the same file (readers in one process keep
 * the other's checkpoints from restarting the WAL). WAL_READER=1 adds a monitoring reader
 * in this process that holds a read transaction for 300 ms out of every 400 ms, like a
 * dashboard or a backup tool polling the file.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { spawnMain } from '../test/helpers/process.js'

const JOBS = Number(process.env.WAL_JOBS ?? 500)
const WAVE = 25
const JOB = {
  name: 'wal',
  model: { type: 'rnn', hidden_size: 8 },
  data: { type: 'pairs', pairs: [{ input: 'hello', target: 'elloh' }] },
  training: { epochs: 100, learning_rate: 0.1, batch_size: 1, seed: 0 },
}

const sizeOf = (file: string) => {
  try {
    return statSync(file).size
  } catch {
    return 0
  }
}

/** A reader that keeps a snapshot open most of the time; returns a stop function. */
function startReader(file: string): () => void {
  const db = new Database(file, { readonly: true })
  let timer: NodeJS.Timeout | undefined
  let stopped = false
  const cycle = () => {
    if (stopped) return
    db.prepare('BEGIN').run()
    db.prepare('SELECT count(*) FROM losses').get()
    timer = setTimeout(() => {
      db.prepare('COMMIT').run()
      timer = setTimeout(cycle, 100)
    }, 300)
  }
  cycle()
  return () => {
    stopped = true
    clearTimeout(timer)
    if (db.inTransaction) db.prepare('COMMIT').run()
    db.close()
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'seqserve-wal-'))
  const db = join(dir, 'seqserve.db')
  const env = { DATABASE_PATH: db, RATE_LIMIT_JOBS_PER_MINUTE: '0', WORKERS: process.env.WORKERS ?? '1' }
  const split = process.env.WAL_SPLIT === '1'
  const service = spawnMain({ env: split ? { ...env, ROLE: 'api' } : env, startTimeoutMs: 180_000 })
  const worker = split ? spawnMain({ env: { ...env, ROLE: 'worker' }, startTimeoutMs: 180_000 }) : undefined
  let peak = 0
  let reader: (() => void) | undefined
  const sampler = setInterval(() => (peak = Math.max(peak, sizeOf(`${db}-wal`))), 200)
  try {
    const url = await service.listening
    await worker?.listening
    if (process.env.WAL_READER === '1') reader = startReader(db)
    const started = Date.now()
    for (let submitted = 0; submitted < JOBS; submitted += WAVE) {
      const ids: string[] = []
      for (let i = 0; i < Math.min(WAVE, JOBS - submitted); i++) {
        const response = await fetch(`${url}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(JOB) })
        if (response.status !== 202) throw new Error(`POST /jobs -> ${response.status} ${await response.text()}`)
        ids.push(((await response.json()) as { id: string }).id)
      }
      for (const id of ids) {
        for (;;) {
          const job = (await (await fetch(`${url}/jobs/${id}`)).json()) as { status: string }
          if (job.status === 'succeeded') break
          if (job.status !== 'queued' && job.status !== 'running') throw new Error(`job ${id} ended ${job.status}`)
          await new Promise((resolve) => setTimeout(resolve, 100))
        }
      }
    }
    peak = Math.max(peak, sizeOf(`${db}-wal`))
    const result = { split, reader: process.env.WAL_READER === '1', jobs: JOBS, epochsPerJob: JOB.training.epochs, seconds: Math.round((Date.now() - started) / 1000), walPeakBytes: peak, walFinalBytes: sizeOf(`${db}-wal`), databaseBytes: sizeOf(db) }
    console.log(JSON.stringify(result))
  } finally {
    clearInterval(sampler)
    reader?.()
    service.child.kill('SIGTERM')
    worker?.child.kill('SIGTERM')
    await Promise.all([service.exited, worker?.exited])
    rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
