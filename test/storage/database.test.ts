import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { openDatabase } from '../../src/storage/sqlite/database.js'
import { defaultMigrationsDir, migrationsRoot } from '../../src/storage/migrations.js'
import { currentVersion } from '../../src/storage/sqlite/migrate.js'
import { NEWEST_VERSION, REPO_MIGRATIONS_DIR, REPO_MIGRATIONS_ROOT, tempDir } from './helpers.js'

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
  t.equal(currentVersion(db), NEWEST_VERSION, 'migrations ran')

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
  t.equal(currentVersion(db), NEWEST_VERSION)
  t.equal(db.pragma('foreign_keys', { simple: true }), 1)
})

t.test('the default migrations folder is the package root one, a folder per dialect', async (t) => {
  const sourceFile = fileURLToPath(new URL('../../src/storage/migrations.ts', import.meta.url))
  t.equal(migrationsRoot(sourceFile), REPO_MIGRATIONS_ROOT, 'under tsx: src/storage/migrations.ts')
  t.equal(migrationsRoot(), REPO_MIGRATIONS_ROOT, 'from the module itself')
  t.equal(defaultMigrationsDir('sqlite'), REPO_MIGRATIONS_DIR)
  t.equal(defaultMigrationsDir('postgres'), path.join(REPO_MIGRATIONS_ROOT, 'postgres'))

  // The built layout: <root>/dist/src/storage/database.js
  const root = tempDir(t)
  fs.writeFileSync(path.join(root, 'package.json'), '{}')
  fs.mkdirSync(path.join(root, 'migrations'))
  fs.mkdirSync(path.join(root, 'dist', 'src', 'storage'), { recursive: true })
  // A package.json without migrations (as some build setups put in dist/) is walked past.
  fs.writeFileSync(path.join(root, 'dist', 'package.json'), '{"type":"module"}')
  t.equal(migrationsRoot(path.join(root, 'dist', 'src', 'storage', 'migrations.js')), path.join(root, 'migrations'))
})

t.test('the default migrations folder missing is a clear error', async (t) => {
  const root = tempDir(t)
  t.throws(() => migrationsRoot(path.join(root, 'x', 'migrations.js')), /Cannot find the migrations folder/)
})
