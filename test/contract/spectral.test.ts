/**
 * Spectral (@stoplight/spectral-cli, ruleset `extends: spectral:oas` in .spectral.yaml)
 * lints the committed document and the one a server with API keys serves: 0 errors, and
 * no warnings either. A document with a broken example proves the linter really reads.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { findProjectRoot } from '../../src/http/package-info.js'
import { openApiFilePath } from '../../src/http/openapi-document.js'
import { testConfig } from '../helpers/config.js'
import { startServer } from '../helpers/server.js'
import { keyedConfig } from './contract-helpers.js'

const ROOT = findProjectRoot()
const SPECTRAL = join(ROOT, 'node_modules', '.bin', 'spectral')

interface SpectralResult {
  code: string
  message: string
  path: string[]
  severity: number
}

const SEVERITY = ['error', 'warning', 'info', 'hint']

/** `spectral lint FILE --ruleset .spectral.yaml -f json`; its exit code is 1 when it finds errors. */
async function lint(file: string): Promise<SpectralResult[]> {
  const { stdout } = await promisify(execFile)(SPECTRAL, ['lint', file, '--ruleset', join(ROOT, '.spectral.yaml'), '-f', 'json', '--quiet'], {
    cwd: ROOT,
  }).catch((err: { stdout?: string; stderr?: string }) => {
    if (err.stdout?.trim().startsWith('[')) return { stdout: err.stdout }
    throw new Error(`spectral failed: ${err.stderr ?? String(err)}`)
  })
  return JSON.parse(stdout) as SpectralResult[]
}

const describe = (results: SpectralResult[]) =>
  results.map((r) => `${SEVERITY[r.severity]} ${r.code} at ${r.path.join('.')}: ${r.message}`)

const dir = mkdtempSync(join(tmpdir(), 'seqserve-spectral-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

t.test('the committed openapi/openapi.json: 0 errors, 0 warnings', async (t) => {
  const results = await lint(openApiFilePath())
  t.same(describe(results.filter((r) => r.severity === 0)), [], '0 errors')
  t.same(describe(results.filter((r) => r.severity === 1)), [], '0 warnings')
})

t.test('the document a server with API keys and CORS serves: 0 errors, 0 warnings', async (t) => {
  const server = await startServer(t, { config: keyedConfig({ CORS_ORIGINS: 'https://app.example.com' }) })
  const document = await (await server.fetch('/openapi.json')).json()
  const file = join(dir, 'keyed.json')
  writeFileSync(file, JSON.stringify(document))
  const results = await lint(file)
  t.same(describe(results.filter((r) => r.severity <= 1)), [], '0 errors, 0 warnings')
})

t.test('spectral finds an example that contradicts its schema', async (t) => {
  const server = await startServer(t, { config: testConfig({ maxEventLoopDelayMs: 0 }) })
  const document = (await (await server.fetch('/openapi.json')).json()) as {
    paths: Record<string, Record<string, { requestBody: { content: Record<string, { example?: Record<string, unknown> }> } }>>
  }
  const media = document.paths['/jobs']!.post!.requestBody.content['application/json']!
  media.example = { ...media.example, model: { type: 'transformer' } }
  const file = join(dir, 'broken.json')
  writeFileSync(file, JSON.stringify(document))
  const errors = (await lint(file)).filter((r) => r.severity === 0)
  t.ok(errors.some((r) => r.code === 'oas3-valid-media-example'), `reported: ${describe(errors).join('; ')}`)
})
