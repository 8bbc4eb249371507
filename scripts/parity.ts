/**
 * `npm run parity -- FILE [FILE...] [options]`: checks every case of PyTorch reference files
 * (formats: src/parity/formats.ts; the reference format is shared/fixtures/README.md).
 * One line per case, then "N passed, N failed"; exit status 1 if any case fails, a file
 * has a problem (empty, unknown section, missing fields, no cases) or nothing was checked.
 */
import { parseArgs } from 'node:util'
import { defaultKernelSet, setEngineDefaults } from '../src/engine/backend/select.js'
import { PARITY_OPTIONS, optionsUsage, readParityOptions, type ParityOptions } from '../src/parity/options.js'
import { checkFile } from '../src/parity/run.js'

const USAGE = `usage: npm run parity -- FILE [FILE...] ${optionsUsage()}   (e.g. ../shared/fixtures/torch_reference.json)`

let files: string[]
let options: ParityOptions
try {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: Object.fromEntries(Object.keys(PARITY_OPTIONS).map((name) => [name, { type: 'string' as const }])),
  })
  files = positionals
  options = readParityOptions(values as Record<string, string | undefined>)
} catch (err) {
  console.error(`${(err as Error).message}\n${USAGE}`)
  process.exit(2)
}
if (files.length === 0) {
  console.error(USAGE)
  process.exit(2)
}
// Every model the checkers build picks these up.
setEngineDefaults({ dtype: options.precision, kernels: options.kernels })
console.error(`engine: ${options.precision}, ${defaultKernelSet()} kernels`)

let passed = 0
let failed = 0
for (const file of files) {
  const report = checkFile(file, options)
  for (const problem of report.problems) {
    console.log(`not ok ${file}: ${problem}`)
    failed++
  }
  for (const r of report.results) {
    console.log(`${r.ok ? 'ok' : 'not ok'} ${r.name}: ${r.detail}`)
    if (r.ok) passed++
    else failed++
  }
}
console.log(`${passed} passed, ${failed} failed`)
process.exit(failed > 0 || passed === 0 ? 1 : 0)
