import type { Backend, Floats } from './backend/types.js'
import { clipGradNorm } from './clip.js'
import { type Interrupt, StepInterruptedError, pollInterrupt } from './interrupt.js'
import { crossEntropy, mse } from './losses.js'
import type { ModelBatch, SequenceModel } from './model.js'
import type { Optimizer } from './optimizers.js'

/** Targets of a batch in the layout of the model's logits. */
export type BatchTargets =
  | { kind: 'classes'; targets: Int32Array }
  | { kind: 'values'; targets: Floats }

/** Scratch reused across steps so a training loop allocates nothing per step. */
export class LossWorkspace {
  private grad: Floats = new Float64Array(0)

  /** d loss / d logits, allocated from the model's backend so the head's kernels read it in place. */
  gradBuffer(model: SequenceModel, size: number): Floats {
    if (this.grad.length < size) this.grad = model.params.backend.floats(size)
    return this.grad
  }
}

export function logitRows(model: SequenceModel, batch: { T: number; B: number }): number {
  return model.config.head === 'every_step' ? batch.T * batch.B : batch.B
}

/**
 * Loss of the logits against the targets; writes d loss / d logits into grad when given. With
 * the model's backend, cross-entropy runs on its kernels (losses.ts is the reference) and polls
 * `interrupt` over long batches.
 */
export function batchLoss(
  grad: Floats | null, logits: Floats, targets: BatchTargets, rows: number, outputs: number, backend?: Backend, interrupt: Interrupt | null = null,
): number {
  if (targets.kind === 'values') return mse(grad, logits, targets.targets, rows * outputs)
  return backend ? backend.crossEntropy(grad, logits, targets.targets, rows, outputs, interrupt) : crossEntropy(grad, logits, targets.targets, rows, outputs, interrupt)
}

/** Sees the logits of a training forward pass before the update (for metrics). */
export type LogitsObserver = (logits: Floats, rows: number) => void

/**
 * One optimisation step: forward, loss, backward, optional gradient clipping, update.
 * Returns the loss computed before the update (what PyTorch's loop records).
 *
 * `interrupt` (interrupt.ts) is polled every time step of the forward and backward sweeps and
 * between pieces of the long products; when it asks to stop, the step throws
 * StepInterruptedError before the update: the parameters and the optimizer are untouched, and
 * the batch's RNG (dropout masks) is rewound to where it stood before the step, so the next
 * step computes exactly what it would have computed had this one never started. Only the
 * gradients (zeroed by every step) and the model's activations (and `observe`) saw a partial step.
 */
export function trainStep(
  model: SequenceModel, batch: ModelBatch, targets: BatchTargets, optimizer: Optimizer,
  clipNorm: number | null, workspace: LossWorkspace, observe?: LogitsObserver, interrupt: Interrupt | null = null,
): number {
  const rngState = interrupt !== null && batch.rng ? batch.rng.getState() : null
  try {
    const logits = model.forward(batch, interrupt)
    const rows = logitRows(model, batch)
    const outputs = model.config.outputSize
    observe?.(logits, rows)
    const grad = workspace.gradBuffer(model, rows * outputs)
    const loss = batchLoss(grad, logits, targets, rows, outputs, model.params.backend, interrupt)
    pollInterrupt(interrupt)
    model.params.zeroGrad()
    model.backward(grad, interrupt)
    if (clipNorm !== null) clipGradNorm(model.params.grad, clipNorm)
    optimizer.step(model.params.data, model.params.grad)
    return loss
  } catch (err) {
    if (err instanceof StepInterruptedError && rngState !== null) batch.rng!.setState(rngState)
    throw err
  }
}

/**
 * Allocates every workspace of a training step at the job's largest batch shape, once, by
 * running a forward and backward pass on zero inputs (the parameters, optimizer and RNG are
 * not touched; the gradients are left zeroed). Layers only grow their buffers, and the
 * WebAssembly memory never frees them: without this, batches that grow one after another
 * (samples of unequal length in shuffled order) would each leave their smaller buffers behind.
 * With it, what a job holds is what tasks/training-memory.ts estimates. As long as a step: it
 * polls `interrupt` as trainStep does (a stop throws StepInterruptedError).
 */
export function reserveWorkspaces(model: SequenceModel, workspace: LossWorkspace, T: number, B: number, interrupt: Interrupt | null = null): void {
  if (T <= 0 || B <= 0) return
  const config = model.config
  const input: ModelBatch['input'] = config.oneHot
    ? { kind: 'ids', ids: new Int32Array(T * B).fill(-1) }
    : { kind: 'dense', data: new Float64Array(T * B * config.inputSize) }
  model.forward({ T, B, input, lengths: null, h0: null, c0: null, training: false, rng: null }, interrupt)
  const grad = workspace.gradBuffer(model, logitRows(model, { T, B }) * config.outputSize)
  grad.fill(0)
  model.backward(grad, interrupt)
  model.params.zeroGrad()
}

/** Index of the largest value in each row (first one on ties, like torch.argmax). */
export function argmaxRows(out: Int32Array, values: Floats, rows: number, cols: number): Int32Array {
  for (let r = 0; r < rows; r++) {
    const o = r * cols
    let best = 0
    for (let j = 1; j < cols; j++) if (values[o + j] > values[o + best]) best = j
    out[r] = best
  }
  return out
}
