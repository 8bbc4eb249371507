import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Storage } from '../../src/storage/storage.js'
import { openSqliteStorage, type SqliteStorage } from '../../src/storage/sqlite/storage.js'
import type { NewJob, ReapResult } from '../../src/storage/types.js'

export const REPO_MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations')

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
