import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { defaultMigrationsDir, openDatabase } from '../../src/storage/sqlite/database.js'
import { currentVersion } from '../../src/storage/sqlite/migrate.js'
import { REPO_MIGRATIONS_DIR, tempDir } from './helpers.js'

t.test('opens a file database in nested new folders with the production pragmas', async (t) => {
  const dir = tempDir(t)
  const file = path.join(dir, 'a', 'b', 'seqserve.db')
  const db = openDatabase({ path: file })
  t.teardown(() => db.close())

  t.ok(fs.existsSync(file), 'parent folders were created')
  t.equal(db.pragma('journal_mode', { simple: true }), 'wal')
  t.equal(db.pragma('foreign_keys', { simple: true }), 1)
  t.equal(db.pragma('busy_timeout', { simple: true }), 5000)
  t.equal(db.pragma('synchronous', { simple: true }), 1, 'synchronous = NORMAL')
  t.equal(currentVersion(db), 3, 'migrations ran')

  db.prepare(`INSERT INTO jobs (id, name, status, spec, data_summary, epochs, created_at, updated_at) VALUES ('x', 'n', 'queued', '{}', '{}', 1, 1, 1)`).run()
  t.ok(fs.existsSync(`${file}-wal`), 'writes go to the WAL file')
})

t.test('WAL mode persists in the file for other connections', async (t) => {
  const dir = tempDir(t)
  const file = path.join(dir, 'wal.db')
  openDatabase({ path: file }).close()
  const again = openDatabase({ path: file })
  t.teardown(() => again.close())
  t.equal(again.pragma('journal_mode', { simple: true }), 'wal')
})

t.test('busy timeout is configurable', async (t) => {
  const db = openDatabase({ path: ':memory:', busyTimeoutMs: 250 })
  t.teardown(() => db.close())
  t.equal(db.pragma('busy_timeout', { simple: true }), 250)
})

t.test(':memory: databases are migrated too', async (t) => {
  const db = openDatabase({ path: ':memory:' })
  t.teardown(() => db.close())
  t.equal(currentVersion(db), 3)
  t.equal(db.pragma('foreign_keys', { simple: true }), 1)
})

t.test('the default migrations folder is the package root one', async (t) => {
  const sourceFile = fileURLToPath(new URL('../../src/storage/sqlite/database.ts', import.meta.url))
  t.equal(defaultMigrationsDir(sourceFile), REPO_MIGRATIONS_DIR, 'under tsx: src/storage/sqlite/database.ts')
  t.equal(defaultMigrationsDir(), REPO_MIGRATIONS_DIR, 'from the module itself')

  // The built layout: <root>/dist/src/storage/database.js
  const root = tempDir(t)
  fs.writeFileSync(path.join(root, 'package.json'), '{}')
  fs.mkdirSync(path.join(root, 'migrations'))
  fs.mkdirSync(path.join(root, 'dist', 'src', 'storage'), { recursive: true })
  // A package.json without migrations (as some build setups put in dist/) is walked past.
  fs.writeFileSync(path.join(root, 'dist', 'package.json'), '{"type":"module"}')
  t.equal(defaultMigrationsDir(path.join(root, 'dist', 'src', 'storage', 'database.js')), path.join(root, 'migrations'))
})

t.test('the default migrations folder missing is a clear error', async (t) => {
  const root = tempDir(t)
  t.throws(() => defaultMigrationsDir(path.join(root, 'x', 'database.js')), /Cannot find the migrations folder/)
})
