/**
 * The finite-difference gradient checks and the PyTorch parity suite once more, on the plain-JS
 * kernels: the files themselves run on the default (WebAssembly) kernels, so both kernel sets
 * are checked against independent references.
 */
import { setEngineDefaults } from '../../src/engine/backend/select.js'

setEngineDefaults({ kernels: 'js' })
await import('./gradcheck.test.js')
await import('./parity.test.js')
