/**
 * Storage faults surface as typed errors from both stores (what the API turns into 507/503
 * and the job runner into a paused job): a full disk, a damaged file, a read-only server, a
 * server that cannot be reached. Real SQLite files and a real PostgreSQL cluster; the full
 * disk is a tiny tmpfs tablespace (root only).
 */
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import pg from 'pg'
import t from 'tap'
import { DatabaseOpenError, StorageFullError, StorageUnavailableError } from '../../src/storage/errors.js'
import { PoolSession } from '../../src/storage/postgres/session.js'
import { openPostgresStorage } from '../../src/storage/postgres/storage.js'
import { openSqliteStorage } from '../../src/storage/sqlite/storage.js'
import { freePort, sharedPostgres } from '../helpers/postgres.js'
import { rootSkipReason, smallTmpfs, unmount } from '../helpers/mounts.js'
import type { TapTest } from '../helpers/server.js'
import { newJob, rejection, tempDir } from './helpers.js'

async function sql(url: string, text: string): Promise<void> {
  const client = new pg.Client(url)
  await client.connect()
  try {
    await client.query(text)
  } finally {
    await client.end()
  }
}

async function freshPostgres(t: TapTest): Promise<{ url: string; admin: string; name: string }> {
  const cluster = await sharedPostgres()
  const url = await cluster.createDatabase('faults')
  t.teardown(() => cluster.dropDatabase(url))
  return { url, admin: cluster.url(), name: new URL(url).pathname.slice(1) }
}

t.test('sqlite: damaged pages reject with StorageUnavailableError (corrupt); readiness reports the damage found at open', async (t) => {
  const file = path.join(tempDir(t), 'seqserve.db')
  const seeded = openSqliteStorage({ path: file })
  for (let i = 0; i < 20; i++) await seeded.jobs.create(newJob({ dataSummary: { type: 'pairs', count: 1, padding: 'x'.repeat(3000) } }), i)
  await seeded.close()
  const db = new Database(file, { readonly: true })
  const pageSize = db.pragma('page_size', { simple: true }) as number
  const { rootpage } = db.prepare(`SELECT rootpage FROM sqlite_master WHERE name = 'jobs'`).get() as { rootpage: number }
  db.close()
  const fd = fs.openSync(file, 'r+')
  fs.writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, (rootpage - 1) * pageSize)
  fs.closeSync(fd)

  const storage = openSqliteStorage({ path: file })
  t.teardown(() => storage.close())
  const err = await rejection(storage.jobs.list({ limit: 10 }))
  t.type(err, StorageUnavailableError)
  t.match(err, { code: 'storage_unavailable', reason: 'corrupt', nativeCode: /^SQLITE_CORRUPT/ })
  const health = await storage.checkHealth()
  t.equal(health.writable, false)
  t.match(health.reasons[0], /^the database file is damaged: PRAGMA quick_check reports .*; restore it from a backup$/)
})

t.test('sqlite: a file that is not a database is a DatabaseOpenError naming the path', async (t) => {
  const file = path.join(tempDir(t), 'seqserve.db')
  fs.writeFileSync(file, 'not a database, just text '.repeat(200))
  const err = await rejection(Promise.resolve().then(() => openSqliteStorage({ path: file })))
  t.type(err, DatabaseOpenError)
  t.equal((err as Error).message, `Cannot use the database ${file}: the file is not an SQLite database, or its header is damaged (SQLITE_NOTADB). Restore it from a backup, or point DATABASE_PATH at another file (a missing file is created empty)`)
})

t.test('postgres: a full disk (SQLSTATE 53100) rejects with StorageFullError; writes work again once space returns', { skip: rootSkipReason() }, async (t) => {
  const { url, admin, name } = await freshPostgres(t)
  const dir = smallTmpfs(t, 2 * 1024 * 1024)
  execFileSync('chown', ['postgres:postgres', dir])
  const tablespace = `tiny_${name}`
  await sql(admin, `CREATE TABLESPACE ${pg.escapeIdentifier(tablespace)} LOCATION '${dir}'`)
  const storage = await openPostgresStorage({ url })
  t.teardown(async () => {
    await storage.close()
    await (await sharedPostgres()).dropDatabase(url)
    await sql(admin, `DROP TABLESPACE IF EXISTS ${pg.escapeIdentifier(tablespace)}`)
    unmount(dir)
  })
  await sql(url, `ALTER TABLE jobs SET TABLESPACE ${pg.escapeIdentifier(tablespace)}`)

  // Random text does not compress (TOAST would squeeze a repeated string into nothing).
  const bulky = () => newJob({ dataSummary: { type: 'pairs', count: 1, padding: randomBytes(150_000).toString('base64') } })
  let err: unknown
  for (let i = 0; i < 40 && err === undefined; i++) err = await storage.jobs.create(bulky(), i).then(() => undefined, (e: unknown) => e)
  t.type(err, StorageFullError, `a write was refused: ${String(err)}`)
  t.match(err, { code: 'storage_full', nativeCode: 'SQLSTATE 53100', problem: /disk holding the database is full/ })

  // Space returns: the table moves to a volume with room.
  await sql(url, 'ALTER TABLE jobs SET TABLESPACE pg_default')
  await storage.jobs.create(newJob(), 100)
  t.pass('writes work again once there is space')
})

t.test('postgres: a read-only server rejects writes with StorageUnavailableError (read_only)', async (t) => {
  const { url, admin, name } = await freshPostgres(t)
  const storage = await openPostgresStorage({ url, poolSize: 1 })
  t.teardown(() => storage.close())
  await sql(admin, `ALTER DATABASE ${pg.escapeIdentifier(name)} SET default_transaction_read_only = on`)
  t.teardown(() => sql(admin, `ALTER DATABASE ${pg.escapeIdentifier(name)} SET default_transaction_read_only = off`))
  // The pooled connection started before the setting: replace it.
  await sql(admin, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}' AND pid <> pg_backend_pid()`)
  let err: unknown
  for (let i = 0; i < 3 && !(err instanceof StorageUnavailableError && err.reason === 'read_only'); i++) {
    err = await storage.jobs.create(newJob(), 1).then(() => undefined, (e: unknown) => e)
  }
  t.match(err, { code: 'storage_unavailable', reason: 'read_only', nativeCode: 'SQLSTATE 25006' })
  t.type(err, StorageUnavailableError)
})

t.test('postgres: a server that cannot be reached is a DatabaseOpenError at startup', async (t) => {
  const port = await freePort()
  const url = `postgres://seqserve:secret@127.0.0.1:${port}/seqserve`
  const err = await rejection(openPostgresStorage({ url }))
  t.type(err, DatabaseOpenError)
  t.equal((err as Error).message, `Cannot use the database postgres://seqserve:***@127.0.0.1:${port}/seqserve: the database server cannot be reached (ECONNREFUSED). Check that PostgreSQL is running and that DATABASE_URL names it`)
})

t.test('postgres: a session the server ends between two statements of a transaction rejects with StorageUnavailableError, not a process crash; the pool reconnects', async (t) => {
  const { url, admin } = await freshPostgres(t)
  const pool = new pg.Pool({ connectionString: url, max: 1 })
  pool.on('error', () => undefined)
  t.teardown(() => pool.end())
  const session = new PoolSession(pool)
  const gone = async (pid: number) => {
    const client = new pg.Client(admin)
    await client.connect()
    try {
      await client.query('SELECT pg_terminate_backend($1)', [pid])
      // Until the backend has exited, its FATAL 57P01 is on the way to our idle connection.
      while ((await client.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount !== 0) await new Promise((resolve) => setTimeout(resolve, 10))
    } finally {
      await client.end()
    }
  }
  const err = await rejection(session.transaction(async (tx) => {
    const { rows } = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
    // The connection is checked out and idle in the transaction when the server ends it (a shutdown, a restart).
    await gone(rows[0].pid)
    await tx.query('SELECT 1')
  }))
  t.type(err, StorageUnavailableError, 'the next statement fails as a storage fault the job runner waits out')
  t.match(err, { code: 'storage_unavailable', reason: 'unreachable' })
  const { rows } = await session.query<{ one: number }>('SELECT 1 AS one')
  t.same(rows, [{ one: 1 }], 'the broken connection left the pool; a new one serves the next statement')
})
