import { execFile } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { findProjectRoot } from '../../src/http/package-info.js'
import { openApiFilePath } from '../../src/http/openapi-document.js'

const run = promisify(execFile)

/** Runs `tsx scripts/openapi.ts <args>`; resolves with exit code and output, never rejects. */
async function openapiScript(...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'scripts/openapi.ts', ...args], {
      cwd: findProjectRoot(),
    })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string }
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr }
  }
}

t.test('the script writes the same document as the committed one, and --check agrees', async (t) => {
  const dir = t.testdir({})
  const file = join(dir, 'openapi.json')

  const missing = await openapiScript('--check', `--file=${file}`)
  t.equal(missing.code, 1, '--check fails when the file is missing')
  t.match(missing.stderr, /is missing; run `npm run openapi`/)

  const written = await openapiScript(`--file=${file}`)
  t.equal(written.code, 0)
  t.match(written.stdout, /^wrote /)
  t.equal(await readFile(file, 'utf8'), await readFile(openApiFilePath(), 'utf8'), 'same bytes as committed')

  const upToDate = await openapiScript('--check', `--file=${file}`)
  t.equal(upToDate.code, 0)
  t.match(upToDate.stdout, /is up to date/)

  await writeFile(file, (await readFile(file, 'utf8')).replace('Liveness probe', 'Old summary'))
  const stale = await openapiScript('--check', `--file=${file}`)
  t.equal(stale.code, 1, '--check fails on a stale file')
  t.match(stale.stderr, /is out of date with the route schemas; run `npm run openapi`/)
})
