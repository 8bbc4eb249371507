import { createBackend } from '../backend/select.js'
import type { KernelSetName } from '../backend/types.js'
import { WasmMemoryLimitError } from '../backend/wasm.js'
import { SequenceModel } from '../model.js'
import type { Checkpoint } from './checkpoint.js'

/** What serving needs of a checkpoint to build a model (the precision defaults to float64 for checkpoints without one). */
export type ServedCheckpoint = Pick<Checkpoint, 'model' | 'params'> & Partial<Pick<Checkpoint, 'dtype'>>

/** A fresh engine instance holding the checkpoint's weights, in its precision, on `kernels` (default: the process's default). */
export function modelFromCheckpoint(source: ServedCheckpoint, kernels?: KernelSetName): SequenceModel {
  const model = new SequenceModel(source.model, createBackend(source.dtype ?? 'float64', kernels))
  model.params.data.set(source.params)
  return model
}

/** Room for ordinary requests' workspaces beyond the weights (parameters and gradients). */
const WORKSPACE_ALLOWANCE_BYTES = 64 * 2 ** 20

/**
 * How much memory a freshly loaded model may keep after a request: twice the weights plus
 * room for ordinary requests. Past it, a predictor drops the instance for a fresh one.
 */
export function workingMemoryLimit(model: SequenceModel): number {
  return 2 * model.params.backend.bytes + WORKSPACE_ALLOWANCE_BYTES
}

/**
 * The engine instance a predictor serves from. A WebAssembly memory never shrinks: after a
 * request that grew it far beyond the weights (a very long input, many rows), `release` drops
 * the instance for a fresh one, so one large request does not keep its memory for as long as
 * the model stays cached.
 */
export class ServedModel {
  model: SequenceModel
  private readonly bytesLimit: number

  constructor(private readonly source: ServedCheckpoint, private readonly kernels?: KernelSetName) {
    this.model = modelFromCheckpoint(source, kernels)
    this.bytesLimit = workingMemoryLimit(this.model)
  }

  /** True when it dropped the instance. */
  release(): boolean {
    if (this.model.params.backend.bytes <= this.bytesLimit) return false
    this.model = modelFromCheckpoint(this.source, this.kernels)
    return true
  }

  /**
   * Runs one request. A request whose workspaces would pass WebAssembly's 4 GiB limit throws
   * WasmMemoryLimitError (a RangeError saying so) and leaves a fresh instance behind, not
   * one whose memory grew to the limit; any other request is followed by `release`.
   */
  run<T>(compute: () => T): T {
    let result: T
    try {
      result = compute()
    } catch (err) {
      if (err instanceof WasmMemoryLimitError) this.model = modelFromCheckpoint(this.source, this.kernels)
      throw err
    }
    this.release()
    return result
  }
}
