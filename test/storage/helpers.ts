import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { openStorage, type Storage } from '../../src/storage/storage.js'
import type { NewJob } from '../../src/storage/types.js'

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
export function tempStorage(t: Teardown): { storage: Storage; dbPath: string; dir: string } {
  const dir = tempDir(t)
  const dbPath = path.join(dir, 'seqserve.db')
  const storage = openStorage({ path: dbPath })
  t.teardown(() => storage.close())
  return { storage, dbPath, dir }
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
export function createJobs(storage: Storage, count: number, overrides: (i: number) => Partial<NewJob> = () => ({})): string[] {
  const ids: string[] = []
  for (let i = 0; i < count; i++) ids.push(storage.jobs.create(newJob(overrides(i)), 1_000 + i).id)
  return ids
}
