import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { openDatabase } from '../../src/storage/sqlite/database.js'
import { listMigrationFiles } from '../../src/storage/sqlite/migrate.js'
import { openSqliteStorage } from '../../src/storage/sqlite/storage.js'
import { REPO_MIGRATIONS_DIR, tempDir } from '../storage/helpers.js'

/**
 * A database from before the registry: its succeeded jobs become versions in order of
 * completion (not creation), other statuses do not, and jobs that succeed afterwards get the
 * next numbers, in the same transaction that marks them succeeded.
 */
t.test('existing succeeded jobs become versions by migration', async (t) => {
  const dir = tempDir(t)
  const old = path.join(dir, 'old-migrations')
  fs.mkdirSync(old)
  for (const m of listMigrationFiles(REPO_MIGRATIONS_DIR).filter((m) => m.version < 4)) fs.copyFileSync(m.file, path.join(old, path.basename(m.file)))
  const file = path.join(dir, 'seqserve.db')
  const db = openDatabase({ path: file, migrationsDir: old })
  const insert = db.prepare(`INSERT INTO jobs (id, name, status, spec, data_summary, epochs, created_at, updated_at, finished_at) VALUES (?, ?, ?, '{}', '{}', 1, ?, ?, ?)`)
  // created a, b, c, d in that order; a finished last.
  insert.run('a', 'greeter', 'succeeded', 1, 40, 40)
  insert.run('b', 'greeter', 'succeeded', 2, 20, 20)
  insert.run('c', 'greeter', 'failed', 3, 30, 30)
  insert.run('d', 'poet', 'succeeded', 4, 25, 25)
  insert.run('e', 'greeter', 'queued', 5, 5, null)
  db.close()

  const storage = openSqliteStorage({ path: file })
  t.teardown(() => storage.close())
  const greeter = await storage.models.get('greeter')
  t.same(greeter?.versions.map((v) => [v.version, v.jobId, v.source]), [[1, 'b', 'job'], [2, 'a', 'job']], 'numbered by completion')
  t.same((await storage.models.get('poet'))?.versions.map((v) => [v.version, v.jobId]), [[1, 'd']])
  t.equal(await storage.models.versionOfJob('c'), undefined, 'a failed job is no version')

  const claimed = await storage.jobs.claimNext('worker-1', 10_000, 100)
  t.equal(claimed?.id, 'e')
  await storage.finishJob('e', 'worker-1', { status: 'succeeded' }, 101)
  t.match(await storage.models.versionOfJob('e'), { name: 'greeter', version: 3, source: 'job', createdAt: 101 }, 'a job that succeeds now is the next version')
  t.same((await storage.models.list()).map((m) => m.name), ['greeter', 'poet'])
})
