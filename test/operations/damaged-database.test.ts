/**
 * Damaged, unreadable and read-only databases under the real service (src/main.ts in a
 * child process): at startup, one line naming the path, the problem and what to do, and a
 * non-zero exit; damage deeper in the file answers 503 storage_unavailable (never a bare
 * 500) and turns /readyz red.
 */
import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import t, { type Test } from 'tap'
import { readOnlyView, rootSkipReason } from '../helpers/mounts.js'
import { spawnMain, startMain } from '../helpers/process.js'
import { openSqliteStorage } from '../../src/storage/sqlite/storage.js'

const skipMounts = rootSkipReason()

/** Runs the service on `databasePath`, expecting it to refuse to start; its exit code and stderr. */
async function refusedStart(databasePath: string): Promise<{ code: number | string; stderr: string }> {
  const service = spawnMain({ env: { DATABASE_PATH: databasePath }, startTimeoutMs: 120_000 })
  const code = await service.exited
  return { code, stderr: service.stderr() }
}

function assertOneLine(t: Test, stderr: string, file: string, problem: RegExp, advice: RegExp): void {
  const lines = stderr.trim().split('\n')
  t.equal(lines.length, 1, `one line on stderr, no stack trace: ${stderr}`)
  t.ok(lines[0].includes(file), 'the line names the database path')
  t.match(lines[0], problem, 'the line says what is wrong')
  t.match(lines[0], advice, 'the line says what to do')
}

/** A migrated database file with a few jobs, closed cleanly (its WAL merged into it). */
function seededDatabase(file: string, jobs = 30): void {
  const storage = openSqliteStorage({ path: file })
  for (let i = 0; i < jobs; i++) {
    storage.db.prepare(`INSERT INTO jobs (id, name, status, spec, data_summary, epochs, created_at, updated_at) VALUES (?, 'seeded', 'succeeded', ?, '{}', 1, ?, ?)`)
      .run(`job-${i}`, JSON.stringify({ padding: 'x'.repeat(3000), i }), i, i)
  }
  storage.db.close()
}

t.test('a file that is not a database: exit 1 with one line naming it', async (t) => {
  const file = path.join(t.testdir({}), 'seqserve.db')
  fs.writeFileSync(file, Buffer.alloc(16 * 1024, 0x41))
  const { code, stderr } = await refusedStart(file)
  t.equal(code, 1)
  assertOneLine(t, stderr, file, /not an SQLite database, or its header is damaged \(SQLITE_NOTADB\)/, /Restore it from a backup/)
})

t.test('a path that is a directory: exit 1 with one line naming it', async (t) => {
  const file = path.join(t.testdir({}), 'seqserve.db')
  fs.mkdirSync(file)
  const { code, stderr } = await refusedStart(file)
  t.equal(code, 1)
  assertOneLine(t, stderr, file, /it is a directory/, /Point DATABASE_PATH at a file/)
})

t.test('a database on a read-only mount: exit 1 with one line naming it', { skip: skipMounts }, async (t) => {
  const source = t.testdir({})
  seededDatabase(path.join(source, 'seqserve.db'))
  const file = path.join(readOnlyView(t, source), 'seqserve.db')
  const { code, stderr } = await refusedStart(file)
  t.equal(code, 1)
  assertOneLine(t, stderr, file, /read-only file system/, /Mount the volume read-write/)
})

interface Readiness { status: string; checks: { database: boolean }; reasons: string[] }

t.test('damaged pages mid-file: the service starts, /readyz is red with the reason, the damaged reads answer 503 storage_unavailable', async (t) => {
  const file = path.join(t.testdir({}), 'seqserve.db')
  seededDatabase(file)
  // Overwrite the root page of the jobs table (schema and migrations pages stay intact).
  const db = new Database(file, { readonly: true })
  const pageSize = db.pragma('page_size', { simple: true }) as number
  const { rootpage } = db.prepare(`SELECT rootpage FROM sqlite_master WHERE type = 'table' AND name = 'jobs'`).get() as { rootpage: number }
  db.close()
  const fd = fs.openSync(file, 'r+')
  fs.writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, (rootpage - 1) * pageSize)
  fs.closeSync(fd)

  const service = await startMain(t, { env: { DATABASE_PATH: file }, startTimeoutMs: 120_000 })
  const ready = await fetch(`${service.url}/readyz`).catch((err: unknown) => {
    throw new Error(`GET /readyz failed (${String(err)}); the service exited ${service.child.exitCode ?? service.child.signalCode}; stderr: ${service.stderr()}`)
  })
  t.equal(ready.status, 503, '/readyz is red')
  const readiness = (await ready.json()) as Readiness
  t.equal(readiness.checks.database, false)
  t.match(readiness.reasons.join(' '), /database file is damaged: PRAGMA quick_check reports .*restore it from a backup/)
  t.ok(service.lines.some((line) => /database cannot take writes: the database file is damaged/.test(String(line.msg))), 'the start log says why it is not ready')

  for (const route of ['/jobs', '/jobs/job-1']) {
    const response = await fetch(`${service.url}${route}`)
    t.equal(response.status, 503, `GET ${route}: 503, not 500`)
    t.equal(response.headers.get('retry-after'), '10')
    const body = (await response.json()) as { code: string; message: string }
    t.equal(body.code, 'storage_unavailable')
    t.match(body.message, /database file is damaged \(SQLITE_CORRUPT/)
  }
})
