import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { openStorage, type StorageTarget } from '../../src/storage/open.js'
import type { Storage } from '../../src/storage/storage.js'
import { sharedPostgres } from '../helpers/postgres.js'
import { BACKENDS, createJobs, tempDir, type Backend } from './helpers.js'

const JOBS = 1_000
const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'claim-worker.ts')

interface WorkerReport {
  owner: string
  claimed: string[]
  busyErrors: number
}

function startWorker(target: string, owner: string, peers: number, barrierDir: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, target, owner, String(peers), barrierDir], { stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const ready = new Promise<void>((resolve, reject) => {
    const check = () => {
      if (stdout.startsWith('ready\n')) {
        child.stdout.off('data', check)
        resolve()
      }
    }
    child.stdout.on('data', check)
    child.once('exit', (code) => reject(new Error(`worker ${owner} exited early (${code}): ${stderr}`)))
  })
  const done = new Promise<WorkerReport>((resolve, reject) => {
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`worker ${owner} exited with ${code}: ${stderr}`))
      resolve(JSON.parse(stdout.slice('ready\n'.length)) as WorkerReport)
    })
  })
  return { child, ready, done }
}

/** A new database of `backend` that several connections (and processes) can open: a file path or a URL. */
async function sharedDatabase(t: Parameters<typeof tempDir>[0], backend: Backend, dir: string): Promise<{ target: string; open(): Promise<Storage> }> {
  const target = backend === 'sqlite' ? path.join(dir, 'shared.db') : await (await sharedPostgres()).createDatabase('claims')
  const spec: StorageTarget = backend === 'sqlite' ? { path: target } : { url: target }
  return {
    target,
    async open() {
      const storage = await openStorage(spec)
      t.teardown(() => storage.close())
      return storage
    },
  }
}

for (const backend of BACKENDS) t.test(`two processes claiming from the same database never get the same job [${backend}]`, async (t) => {
  const dir = tempDir(t)
  const database = await sharedDatabase(t, backend, dir)
  const storage = await database.open()
  const ids = await createJobs(storage, JOBS)

  const owners = ['proc-a', 'proc-b']
  const barrierDir = path.join(dir, 'barrier')
  fs.mkdirSync(barrierDir)
  const workers = owners.map((owner) => startWorker(database.target, owner, owners.length, barrierDir))
  await Promise.all(workers.map((w) => w.ready))
  const startAt = Date.now() + 200
  for (const w of workers) w.child.stdin.end(`${startAt}\n`)
  const reports = await Promise.all(workers.map((w) => w.done))

  const all = reports.flatMap((r) => r.claimed)
  t.equal(all.length, JOBS, 'every job was claimed exactly once in total')
  t.equal(new Set(all).size, all.length, 'no job was handed to both processes')
  t.same([...all].sort(), [...ids].sort())
  // Which process got each job, in queue order: a switch means the two really interleaved.
  const ownerOf = new Map(reports.flatMap((r) => r.claimed.map((id) => [id, r.owner] as const)))
  let switches = 0
  for (let i = 1; i < ids.length; i++) if (ownerOf.get(ids[i]) !== ownerOf.get(ids[i - 1])) switches++
  for (const r of reports) {
    t.ok(r.claimed.length > 0, `${r.owner} took part`)
    t.equal(r.busyErrors, 0, `${r.owner} never saw SQLITE_BUSY (busy_timeout waits for the lock; PostgreSQL has no such error)`)
    // Each process claims in queue order.
    const positions = r.claimed.map((id) => ids.indexOf(id))
    t.same(positions, [...positions].sort((a, b) => a - b), `${r.owner} claimed oldest first`)
    const notHeldOnce = []
    for (const id of r.claimed) {
      const job = await storage.jobs.findById(id)
      if (job?.leaseOwner !== r.owner || job.attempt !== 1 || job.status !== 'running') notHeldOnce.push(id)
    }
    t.same(notHeldOnce, [], `every job ${r.owner} claimed is running once (attempt 1) under its lease`)
  }
  t.comment(`split: ${reports.map((r) => `${r.owner}=${r.claimed.length}`).join(', ')}; owner switches along the queue: ${switches}`)
  t.same(await storage.jobs.countByStatus(), { queued: 0, running: JOBS, succeeded: 0, failed: 0, cancelled: 0 })
})

for (const backend of BACKENDS) t.test(`two connections in one process see each other’s claims [${backend}]`, async (t) => {
  const database = await sharedDatabase(t, backend, tempDir(t))
  const a = await database.open()
  const b = await database.open()
  const ids = await createJobs(a, 6)
  const claimed: string[] = []
  for (let i = 0; i < 4; i++) {
    const conn = i % 2 === 0 ? a : b
    claimed.push((await conn.jobs.claimNext(i % 2 === 0 ? 'a' : 'b', 1_000, i))!.id)
  }
  t.same(claimed, ids.slice(0, 4))
  // A lease taken over through one connection is invisible as "owned" to the old owner on the other.
  await a.jobs.reapExpiredLeases(10_000)
  t.equal((await b.jobs.claimNext('b', 1_000, 10_001))?.id, ids[0])
  t.equal(await a.jobs.recordProgress(ids[0], 'a', { epoch: 1, loss: 1, bestLoss: 1 }, 10_002), false)
})
