/**
 * The WAL keeper on a real SQLite file: a reader in another connection keeps automatic
 * checkpoints from restarting the WAL, so it grows; the keeper's TRUNCATE checkpoint empties
 * it once the reader lets go, and an idle database's WAL is emptied too.
 */
import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { WAL_SIZE_LIMIT_BYTES, WalKeeper } from '../../src/storage/sqlite/wal.js'
import { openSqliteStorage } from '../../src/storage/sqlite/storage.js'
import { newJob, tempDir } from './helpers.js'

const walSize = (file: string) => fs.statSync(`${file}-wal`).size

t.test('journal_size_limit is set on every connection the service opens', async (t) => {
  const storage = openSqliteStorage({ path: path.join(tempDir(t), 'seqserve.db') })
  t.teardown(() => storage.close())
  t.equal(storage.db.pragma('journal_size_limit', { simple: true }), WAL_SIZE_LIMIT_BYTES)
})

t.test('a WAL grown past the limit behind a reader is emptied once the reader lets go', async (t) => {
  const file = path.join(tempDir(t), 'seqserve.db')
  const storage = openSqliteStorage({ path: file })
  t.teardown(() => storage.close())
  storage.wal!.stop()
  const limit = 256 * 1024
  const keeper = new WalKeeper(storage.db, `${file}-wal`, limit)

  const reader = new Database(file, { readonly: true })
  t.teardown(() => reader.close())
  reader.prepare('BEGIN').run()
  reader.prepare('SELECT count(*) FROM jobs').get()
  for (let i = 0; i < 200; i++) await storage.jobs.create(newJob({ dataSummary: { padding: 'x'.repeat(4000), i } }), i)
  const grown = walSize(file)
  t.ok(grown > limit, `the WAL grew behind the reader (${grown} bytes)`)

  t.same(await keeper.check(), { bytes: grown, checkpoint: 'busy' }, 'the reader still holds its snapshot: the checkpoint cannot finish')
  reader.prepare('COMMIT').run()
  t.same(await keeper.check(), { bytes: grown, checkpoint: 'done' })
  t.equal(walSize(file), 0, 'the WAL file is empty')
  t.equal((await storage.jobs.list({ limit: 500 })).items.length, 200, 'every row is in the database')
})

t.test('an idle database has its WAL emptied at the second look; a busy one is left alone under the limit', async (t) => {
  const file = path.join(tempDir(t), 'seqserve.db')
  const storage = openSqliteStorage({ path: file })
  t.teardown(() => storage.close())
  storage.wal!.stop()
  const keeper = new WalKeeper(storage.db, `${file}-wal`)
  await storage.jobs.create(newJob(), 1)
  const size = walSize(file)
  t.ok(size > 0)
  t.same(await keeper.check(), { bytes: size, checkpoint: 'none' }, 'first look: writes may still be coming')
  await storage.jobs.create(newJob(), 2)
  t.equal((await keeper.check()).checkpoint, 'none', 'it was written since: not idle')
  const before = walSize(file)
  t.same(await keeper.check(), { bytes: before, checkpoint: 'done' }, 'nothing written since the last look: idle')
  t.equal(walSize(file), 0)
})
