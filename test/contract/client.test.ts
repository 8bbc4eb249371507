/**
 * A client generated from the served document (openapi-typescript + openapi-fetch) types
 * the README's script under `tsc --strict` with no error, rejects a script with wrong
 * fields, and the README's script runs against the real server.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { findProjectRoot } from '../../src/http/package-info.js'
import { testConfig } from '../helpers/config.js'
import { startServer } from '../helpers/server.js'

const ROOT = findProjectRoot()
const BIN = join(ROOT, 'node_modules', '.bin')
const run = promisify(execFile)

/** The ```ts block after the README's generated-client marker. */
function readmeScript(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const marker = readme.indexOf('<!-- generated-client-example')
  if (marker < 0) throw new Error('README.md has no generated-client-example block')
  const match = /```ts\n([\s\S]*?)```/.exec(readme.slice(marker))
  if (!match) throw new Error('no ```ts block after the generated-client-example marker')
  return match[1]!
}

/** What a user gets wrong: each line must be a type error. */
const WRONG = `import createClient from 'openapi-fetch'
import type { paths } from './seqserve-api.js'

const api = createClient<paths, 'application/json'>({ baseUrl: 'http://127.0.0.1:3000' })
const { data: job } = await api.POST('/jobs', { body: { model: { type: 'rnn' } } })
console.log(job?.model.hidden_sizes)
await api.GET('/predict', { params: { query: { model: 'greeter' } } })
await api.GET('/jobs/{id}', { params: { path: {} } })
await api.POST('/jobs', { body: { model: { type: 'transformer' }, data: { type: 'text', text: 'ab' } } })
`

t.test('a client generated from the served document types and runs the README script', async (t) => {
  const server = await startServer(t, { config: testConfig({ maxEventLoopDelayMs: 0 }), training: true })
  const dir = mkdtempSync(join(tmpdir(), 'seqserve-client-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir')
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }))
  writeFileSync(join(dir, 'client.ts'), readmeScript())
  writeFileSync(join(dir, 'wrong.ts'), WRONG)

  // As the README says: openapi-typescript reads the served document.
  await run(join(BIN, 'openapi-typescript'), [`${server.baseUrl}/openapi.json`, '-o', 'seqserve-api.ts'], { cwd: dir })
  const generated = readFileSync(join(dir, 'seqserve-api.ts'), 'utf8')
  t.match(generated, /createJob: \{/, 'operations are named by operationId')

  // One tsc run for both scripts (tsc is the slow part): errors only in wrong.ts.
  const tsc = await run(join(BIN, 'tsc'), [
    '--strict', '--noEmit', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022',
    '--types', 'node', 'client.ts', 'wrong.ts',
  ], { cwd: dir }).then(() => ({ stdout: '' }), (err: { stdout: string }) => ({ stdout: err.stdout }))
  const errors = tsc.stdout.split('\n').filter((line) => /error TS\d+/.test(line))
  t.same(errors.filter((line) => !line.startsWith('wrong.ts')), [], 'the README script type-checks under --strict')
  const wrongLines = new Set(errors.filter((line) => line.startsWith('wrong.ts')).map((line) => Number(/^wrong\.ts\((\d+),/.exec(line)![1])))
  t.same([...wrongLines].sort((a, b) => a - b), [5, 6, 7, 8, 9], `every wrong line is a type error:\n${errors.join('\n')}`)

  // And it works: the script trains, polls, reads losses and predicts.
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'client.ts'], {
    cwd: dir, env: { ...process.env, SEQSERVE_URL: server.baseUrl }, timeout: 120_000,
  })
  t.match(stdout, /^job [0-9a-f-]+: rnn, 8 hidden units, 200 epochs$/m)
  t.match(stdout, /^200 epochs, final loss \d/m)
  t.match(stdout, /^elloh$/m)
  t.match(stdout, /^unknown_characters input has characters the model never saw: "p"$/m)
})
