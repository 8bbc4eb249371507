/**
 * `npm run parity -- FILE [FILE...]`: checks every case of PyTorch reference files
 * (format: shared/fixtures/README.md). One line per case, then "N passed, N failed";
 * exit status 1 if any case fails.
 */
import { readFileSync } from 'node:fs'
import { loadFixture, runParity } from '../src/parity/run.js'
import { isSchedulerFile, runScheduleParity } from '../src/parity/schedulers.js'

const files = process.argv.slice(2)
if (files.length === 0) {
  console.error('usage: npm run parity -- FILE [FILE...]   (e.g. ../shared/fixtures/torch_reference.json)')
  process.exit(2)
}
let passed = 0
let failed = 0
for (const file of files) {
  let results
  try {
    const json: unknown = JSON.parse(readFileSync(file, 'utf8'))
    results = isSchedulerFile(json) ? runScheduleParity(json) : runParity(loadFixture(file))
  } catch (err) {
    console.log(`not ok ${file}: cannot read it: ${(err as Error).message}`)
    failed++
    continue
  }
  for (const r of results) {
    console.log(`${r.ok ? 'ok' : 'not ok'} ${r.name}: ${r.detail}`)
    if (r.ok) passed++
    else failed++
  }
}
console.log(`${passed} passed, ${failed} failed`)
process.exit(failed > 0 ? 1 : 0)
