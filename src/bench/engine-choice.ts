import { DEFAULT_DTYPE, createBackend, defaultKernelSet, resolveKernelSet } from '../engine/backend/select.js'
import type { Backend, Dtype, KernelSetName } from '../engine/backend/types.js'

/** Precision and kernel set a workload runs with; every result line reports both. */
export interface EngineChoice {
  dtype: Dtype
  kernels: KernelSetName
}

/** The options' choice, defaulting to what a job gets by default (DEFAULT_DTYPE, the default kernel set). */
export function engineChoice(options: Partial<EngineChoice>): EngineChoice {
  return { dtype: options.dtype ?? DEFAULT_DTYPE, kernels: options.kernels ?? defaultKernelSet() }
}

export function benchBackend(choice: EngineChoice): Backend {
  return createBackend(choice.dtype, choice.kernels)
}

/** What a result line says about the engine that produced it (wasm falls back to js without SIMD). */
export function engineFields(choice: EngineChoice): { precision: Dtype; kernels: KernelSetName } {
  return { precision: choice.dtype, kernels: resolveKernelSet(choice.kernels) }
}
