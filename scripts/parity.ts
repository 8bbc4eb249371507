/**
 * `npm run parity -- FILE [FILE...] [--precision float32|float64] [--kernels wasm|js]`: checks
 * every case of PyTorch reference files (format: shared/fixtures/README.md) on the chosen engine
 * (default: float64 on the fastest kernels available). One line per case, then
 * "N passed, N failed"; exit status 1 if any case fails.
 */
import { loadFixture, runParity } from '../src/parity/run.js'
import { engineOptions } from './parity-engine.js'

const { files, dtype, kernels } = engineOptions(process.argv.slice(2))
if (files.length === 0) {
  console.error('usage: npm run parity -- FILE [FILE...] [--precision float32|float64] [--kernels wasm|js]   (e.g. ../shared/fixtures/torch_reference.json)')
  process.exit(2)
}
console.error(`engine: ${dtype}, ${kernels} kernels`)
let passed = 0
let failed = 0
for (const file of files) {
  let results
  try {
    results = runParity(loadFixture(file))
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
