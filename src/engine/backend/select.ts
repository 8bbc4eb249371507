import { JsBackend } from './js.js'
import { type Backend, type Dtype, type KernelSetName, isKernelSetName } from './types.js'
import { WasmBackend, wasmKernelsAvailable } from './wasm.js'

/** Process-wide defaults for engine instances created without a backend (parity CLI, tests). */
let defaults: { dtype?: Dtype; kernels?: KernelSetName } = {}

/**
 * Sets the precision and kernel set of engine instances created without an explicit backend
 * (`new SequenceModel(config)`, `new Parameters(specs)`, `createOptimizer(...)`): how
 * `npm run parity -- --precision P --kernels K` runs the unchanged checker on any engine.
 * Jobs never rely on it: Trainer and Predictor pass their backend explicitly.
 */
export function setEngineDefaults(next: { dtype?: Dtype; kernels?: KernelSetName }): void {
  defaults = { ...next }
}

/** float64 unless setEngineDefaults chose otherwise. */
export function defaultDtype(): Dtype {
  return defaults.dtype ?? 'float64'
}

/**
 * The kernel set used when none is named: setEngineDefaults' choice, else $KERNELS (validated at start by src/config.ts, and
 * inherited by worker threads), else wasm where this runtime has WebAssembly SIMD, else js.
 */
export function defaultKernelSet(): KernelSetName {
  if (defaults.kernels) return resolveKernelSet(defaults.kernels)
  const env = typeof process === 'undefined' ? undefined : process.env.KERNELS
  if (isKernelSetName(env)) return resolveKernelSet(env)
  return wasmKernelsAvailable() ? 'wasm' : 'js'
}

/** The kernel set that will actually run: wasm falls back to js where WebAssembly SIMD is missing. */
export function resolveKernelSet(requested: KernelSetName): KernelSetName {
  return requested === 'wasm' && !wasmKernelsAvailable() ? 'js' : requested
}

/** The precision used when a job names none: float32 (PyTorch's default, measured fastest; README "The engine"). */
export const DEFAULT_DTYPE: Dtype = 'float32'

/** A fresh backend (one WebAssembly memory for wasm) for one engine instance. */
export function createBackend(dtype: Dtype = defaultDtype(), kernels: KernelSetName = defaultKernelSet()): Backend {
  return resolveKernelSet(kernels) === 'wasm' ? new WasmBackend(dtype) : new JsBackend(dtype)
}
