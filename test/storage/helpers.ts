import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import tap from 'tap'
import { listMigrationFiles } from '../../src/storage/migrations.js'
import type { Storage } from '../../src/storage/storage.js'
import { openPostgresStorage } from '../../src/storage/postgres/storage.js'
import { openSqliteStorage, type SqliteStorage } from '../../src/storage/sqlite/storage.js'
import { sharedPostgres } from '../helpers/postgres.js'
import type { TapTest } from '../helpers/server.js'
import type { NewJob, ReapResult } from '../../src/storage/types.js'

export const REPO_MIGRATIONS_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations')
/** The SQLite dialect's migrations. */
export const REPO_MIGRATIONS_DIR = path.join(REPO_MIGRATIONS_ROOT, 'sqlite')
/** The schema version this code expects: its newest migration. */
export const NEWEST_VERSION = listMigrationFiles(REPO_MIGRATIONS_DIR).at(-1)!.version

interface Teardown {
  teardown(fn: () => void | Promise<void>): void
}

export function tempDir(t: Teardown, prefix = 'seqserve-storage-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** A Storage over a fresh SQLite file; closed (before the folder is removed) at teardown. */
export async function tempStorage(t: Teardown): Promise<{ storage: SqliteStorage; dbPath: string; dir: string }> {
  const dir = tempDir(t)
  const dbPath = path.join(dir, 'seqserve.db')
  const storage = openSqliteStorage({ path: dbPath })
  t.teardown(() => storage.close())
  return { storage, dbPath, dir }
}

/** What `promise` rejected with; fails when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`)
    },
    (err: unknown) => err,
  )
}

/** The ids of a reap, per outcome. */
export function reapedIds(result: ReapResult): Record<keyof ReapResult, string[]> {
  const ids = (jobs: ReapResult[keyof ReapResult]) => jobs.map((job) => job.id)
  return { requeued: ids(result.requeued), failed: ids(result.failed), cancelled: ids(result.cancelled) }
}

/** What each database reports for a broken constraint (better-sqlite3 code, PostgreSQL SQLSTATE). */
export const FOREIGN_KEY_VIOLATION = { code: /^(SQLITE_CONSTRAINT_FOREIGNKEY|23503)$/ }
export const NOT_NULL_VIOLATION = { code: /^(SQLITE_CONSTRAINT_NOTNULL|23502)$/ }

export type Backend = 'sqlite' | 'postgres'
export const BACKENDS: readonly Backend[] = ['sqlite', 'postgres']

/** A fresh, migrated, empty store of `backend`, closed (and dropped) when `t` ends. */
export async function openBackend(t: Teardown, backend: Backend): Promise<Storage> {
  if (backend === 'sqlite') return (await tempStorage(t)).storage
  const cluster = await sharedPostgres()
  const url = await cluster.createDatabase()
  const storage = await openPostgresStorage({ url })
  t.teardown(async () => {
    await storage.close()
    await cluster.dropDatabase(url)
  })
  return storage
}

/**
 * The shared storage suite: registers the test once per implementation (SQLite file, real
 * PostgreSQL cluster), each on a fresh store; every implementation must pass all of them.
 */
export function storageTest(name: string, fn: (t: TapTest, storage: Storage) => Promise<void>): void {
  for (const backend of BACKENDS) {
    tap.test(`${name} [${backend}]`, async (t) => fn(t, await openBackend(t, backend)))
  }
}

export function newJob(overrides: Partial<NewJob> = {}): NewJob {
  return {
    name: 'greeter',
    spec: {
      model: { type: 'rnn', hidden_size: 8 },
      data: { type: 'pairs', pairs: [{ input: 'hello', target: 'elloh' }] },
      training: { epochs: 20, seed: 0 },
    },
    dataSummary: { type: 'pairs', count: 1 },
    epochs: 20,
    ...overrides,
  }
}

/** Creates `count` jobs at increasing times, returns their ids oldest first. */
export async function createJobs(storage: Storage, count: number, overrides: (i: number) => Partial<NewJob> = () => ({})): Promise<string[]> {
  const ids: string[] = []
  for (let i = 0; i < count; i++) ids.push((await storage.jobs.create(newJob(overrides(i)), 1_000 + i)).id)
  return ids
}
