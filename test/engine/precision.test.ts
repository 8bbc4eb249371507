/**
 * `npm run parity` on every engine: both precisions on both kernel sets pass the PyTorch
 * reference file within the checker's tolerances, and float64 stays at rounding-level agreement.
 */
import t from 'tap'
import { setEngineDefaults } from '../../src/engine/backend/select.js'
import { DTYPES, KERNEL_SETS } from '../../src/engine/backend/types.js'
import { loadFixture, runParity } from '../../src/parity/run.js'
import { fixturePath } from '../helpers/engine.js'
import { SequenceModel } from '../../src/engine/model.js'

const fixture = loadFixture(fixturePath())

for (const dtype of DTYPES) for (const kernels of KERNEL_SETS) {
  t.test(`${dtype} on the ${kernels} kernels passes every case`, async (t) => {
    setEngineDefaults({ dtype, kernels })
    try {
      const probe = new SequenceModel({ mode: 'gru', inputSize: 2, oneHot: false, hiddenSize: 2, numLayers: 1, bidirectional: false, projSize: 0, dropout: 0, outputSize: 1, head: 'last_step' })
      t.equal(probe.params.backend.dtype, dtype, 'models pick up the precision')
      t.equal(probe.params.backend.kernels, kernels, 'and the kernel set')
      const results = runParity(fixture)
      t.ok(results.length >= 20, `${results.length} cases`)
      for (const r of results) t.ok(r.ok, `${r.name}: ${r.detail}`)
    } finally {
      setEngineDefaults({})
    }
  })
}
