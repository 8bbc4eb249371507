import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import BetterSqlite3 from 'better-sqlite3'
import { openDatabase } from '../../src/storage/sqlite/database.js'
import { DatabaseNewerThanCodeError, MigrationError, MigrationsDirectoryError } from '../../src/storage/errors.js'
import { appliedMigrations, currentVersion, listMigrationFiles, runMigrations } from '../../src/storage/sqlite/migrate.js'
import { NEWEST_VERSION, REPO_MIGRATIONS_DIR, REPO_MIGRATIONS_ROOT, tempDir } from './helpers.js'

/** The folder's files: numbers may skip (branches reserve theirs), so tests read them rather than count. */
const REPO_FILES = listMigrationFiles(REPO_MIGRATIONS_DIR)

function tableNames(db: BetterSqlite3.Database): string[] {
  return (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).all() as { name: string }[]).map(
    (r) => r.name,
  )
}

function copyMigration(to: string, file: string): void {
  fs.copyFileSync(path.join(REPO_MIGRATIONS_DIR, file), path.join(to, file))
}

t.test('a fresh database gets every migration, in order, recorded', async (t) => {
  const dir = tempDir(t)
  const db = new BetterSqlite3(path.join(dir, 'fresh.db'))
  t.teardown(() => db.close())
  t.equal(currentVersion(db), 0)

  const result = runMigrations(db, REPO_MIGRATIONS_DIR)
  t.same(result.applied.slice(0, 5), ['0001_jobs.sql', '0002_checkpoints.sql', '0003_losses.sql', '0004_models.sql', '0005_loss_metrics.sql'])
  t.same(result.applied, REPO_FILES.map((m) => `${m.name}.sql`), 'every file of the folder, in order')
  t.equal(currentVersion(db), NEWEST_VERSION)
  t.same(tableNames(db).filter((name) => ['checkpoints', 'jobs', 'losses', 'model_aliases', 'model_versions', 'models', 'schema_migrations', 'storage_probe'].includes(name)),
    ['checkpoints', 'jobs', 'losses', 'model_aliases', 'model_versions', 'models', 'schema_migrations', 'storage_probe'])
  const applied = appliedMigrations(db)
  t.same(
    applied.map((m) => [m.version, m.name]).slice(0, 5),
    [
      [1, '0001_jobs'],
      [2, '0002_checkpoints'],
      [3, '0003_losses'],
      [4, '0004_models'],
      [5, '0005_loss_metrics'],
    ],
  )
  t.same(applied.map((m) => [m.version, m.name]), REPO_FILES.map((m) => [m.version, m.name]))
  for (const m of applied) t.equal(new Date(m.appliedAt).toISOString(), m.appliedAt, 'applied_at is an ISO timestamp')
})

t.test('re-opening an up-to-date database applies nothing and keeps the data', async (t) => {
  const dir = tempDir(t)
  const file = path.join(dir, 'again.db')
  const first = openDatabase({ path: file })
  first.prepare(`INSERT INTO jobs (id, name, status, spec, data_summary, epochs, created_at, updated_at) VALUES ('j1', 'n', 'queued', '{}', '{}', 1, 1, 1)`).run()
  first.close()

  const second = openDatabase({ path: file })
  t.teardown(() => second.close())
  t.same(runMigrations(second, REPO_MIGRATIONS_DIR).applied, [])
  t.equal(currentVersion(second), NEWEST_VERSION)
  t.equal(appliedMigrations(second).length, REPO_FILES.length)
  t.equal((second.prepare('SELECT COUNT(*) AS n FROM jobs').get() as { n: number }).n, 1)
})

t.test('an older database upgrades in place: only newer files run, data is kept', async (t) => {
  const dir = tempDir(t)
  const migrations = path.join(dir, 'migrations')
  fs.mkdirSync(migrations)
  copyMigration(migrations, '0001_jobs.sql')
  const file = path.join(dir, 'old.db')

  const v1 = openDatabase({ path: file, migrationsDir: migrations })
  t.equal(currentVersion(v1), 1)
  t.notOk(tableNames(v1).includes('checkpoints'))
  v1.prepare(`INSERT INTO jobs (id, name, status, spec, data_summary, epochs, created_at, updated_at) VALUES ('kept', 'n', 'succeeded', '{}', '{}', 1, 1, 1)`).run()
  v1.close()

  copyMigration(migrations, '0002_checkpoints.sql')
  fs.writeFileSync(path.join(migrations, '0003_job_notes.sql'), 'ALTER TABLE jobs ADD COLUMN note TEXT;\n')
  const v3 = new BetterSqlite3(file)
  t.teardown(() => v3.close())
  const result = runMigrations(v3, migrations)
  t.same(result.applied, ['0002_checkpoints.sql', '0003_job_notes.sql'])
  t.equal(currentVersion(v3), 3)
  t.same(v3.prepare(`SELECT id, note FROM jobs`).all(), [{ id: 'kept', note: null }])
  t.ok(tableNames(v3).includes('checkpoints'))
  t.same(
    appliedMigrations(v3).map((m) => m.name),
    ['0001_jobs', '0002_checkpoints', '0003_job_notes'],
  )
})

t.test('a failing migration rolls back and names the file and the reason', async (t) => {
  const dir = tempDir(t)
  const migrations = path.join(dir, 'migrations')
  fs.mkdirSync(migrations)
  copyMigration(migrations, '0001_jobs.sql')
  fs.writeFileSync(
    path.join(migrations, '0002_broken.sql'),
    'CREATE TABLE half_done (a INTEGER);\nINSERT INTO half_done VALUES (1);\nINSERT INTO no_such_table VALUES (1);\n',
  )
  const file = path.join(dir, 'broken.db')

  const err = t.throws(() => openDatabase({ path: file, migrationsDir: migrations })) as unknown as MigrationError
  t.type(err, MigrationError)
  t.equal(err.file, '0002_broken.sql')
  t.match(err.message, /0002_broken\.sql/)
  t.match(err.message, /no such table: no_such_table/)
  t.match(err.message, /rolled back/)

  const db = new BetterSqlite3(file)
  t.teardown(() => db.close())
  t.equal(currentVersion(db), 1, '0001 stays applied, 0002 is not recorded')
  t.notOk(tableNames(db).includes('half_done'), 'the statements before the failing one were rolled back')

  // After fixing the file, the next start applies it.
  fs.writeFileSync(path.join(migrations, '0002_broken.sql'), 'CREATE TABLE half_done (a INTEGER);\n')
  t.same(runMigrations(db, migrations).applied, ['0002_broken.sql'])
})

t.test('a migration that commits by itself is refused before it runs', async (t) => {
  const dir = tempDir(t)
  const migrations = path.join(dir, 'migrations')
  fs.mkdirSync(migrations)
  fs.writeFileSync(path.join(migrations, '0001_sneaky.sql'), 'CREATE TABLE a (x);\n-- finish early\nCOMMIT;\nCREATE TABLE b (y);\n')
  const db = new BetterSqlite3(path.join(dir, 'sneaky.db'))
  t.teardown(() => db.close())
  const err = t.throws(() => runMigrations(db, migrations)) as unknown as MigrationError
  t.type(err, MigrationError)
  t.equal(err.file, '0001_sneaky.sql')
  t.match(err.message, /must not manage transactions/)
  t.notOk(tableNames(db).includes('a'))
  t.equal(currentVersion(db), 0)
})

t.test('a database newer than the code is refused with an upgrade hint', async (t) => {
  const dir = tempDir(t)
  const file = path.join(dir, 'newer.db')
  openDatabase({ path: file }).close()

  const older = path.join(dir, 'older-code-migrations')
  fs.mkdirSync(older)
  copyMigration(older, '0001_jobs.sql')
  copyMigration(older, '0002_checkpoints.sql')

  const err = t.throws(() => openDatabase({ path: file, migrationsDir: older })) as unknown as DatabaseNewerThanCodeError
  t.type(err, DatabaseNewerThanCodeError)
  t.equal(err.code, 'database_newer_than_code')
  t.equal(err.databaseVersion, NEWEST_VERSION)
  t.equal(err.codeVersion, 2)
  t.match(err.message, new RegExp(`schema version ${NEWEST_VERSION} \\(${REPO_FILES.at(-1)!.name}\\)`))
  t.match(err.message, /upgrade seqserve/)

  const db = new BetterSqlite3(file)
  t.teardown(() => db.close())
  t.equal(currentVersion(db), NEWEST_VERSION, 'nothing was touched')
})

t.test('malformed migration folders are refused', async (t) => {
  const dir = tempDir(t)
  const db = new BetterSqlite3(':memory:')
  t.teardown(() => db.close())

  const misnamed = path.join(dir, 'misnamed')
  fs.mkdirSync(misnamed)
  fs.writeFileSync(path.join(misnamed, '1-jobs.sql'), 'SELECT 1;')
  t.throws(() => runMigrations(db, misnamed), { name: 'MigrationsDirectoryError', message: /1-jobs\.sql .* is not named NNNN_description\.sql/ })

  const duplicated = path.join(dir, 'duplicated')
  fs.mkdirSync(duplicated)
  fs.writeFileSync(path.join(duplicated, '0001_a.sql'), 'SELECT 1;')
  fs.writeFileSync(path.join(duplicated, '0001_b.sql'), 'SELECT 1;')
  t.throws(() => runMigrations(db, duplicated), { name: 'MigrationsDirectoryError', message: /share version 1/ })

  const missing = path.join(dir, 'does-not-exist')
  t.throws(() => runMigrations(db, missing), MigrationsDirectoryError)

  t.equal(currentVersion(db), 0)
})

t.test('a never-applied file numbered below the database version is refused', async (t) => {
  const dir = tempDir(t)
  const migrations = path.join(dir, 'migrations')
  fs.mkdirSync(migrations)
  fs.writeFileSync(path.join(migrations, '0001_a.sql'), 'CREATE TABLE a (x);')
  fs.writeFileSync(path.join(migrations, '0003_c.sql'), 'CREATE TABLE c (x);')
  fs.writeFileSync(path.join(migrations, 'README.md'), 'not a migration')
  const db = new BetterSqlite3(path.join(dir, 'gap.db'))
  t.teardown(() => db.close())
  t.same(runMigrations(db, migrations).applied, ['0001_a.sql', '0003_c.sql'], 'gaps are fine, other files are ignored')

  fs.writeFileSync(path.join(migrations, '0002_b.sql'), 'CREATE TABLE b (x);')
  t.throws(() => runMigrations(db, migrations), { name: 'MigrationsDirectoryError', message: /0002_b\.sql was never applied.*version 3/ })
  t.notOk(tableNames(db).includes('b'))
})

t.test('both dialects ship the same migrations: same numbers, same names', async (t) => {
  const sqlite = listMigrationFiles(path.join(REPO_MIGRATIONS_ROOT, 'sqlite')).map((m) => m.name)
  const postgres = listMigrationFiles(path.join(REPO_MIGRATIONS_ROOT, 'postgres')).map((m) => m.name)
  t.ok(sqlite.length >= 3)
  t.same(postgres, sqlite, 'a schema change lands in migrations/sqlite/ and migrations/postgres/ under one number')
  t.same(fs.readdirSync(REPO_MIGRATIONS_ROOT).sort(), ['postgres', 'sqlite'], 'no migration sits outside a dialect folder')
})
