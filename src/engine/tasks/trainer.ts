import { createBackend, defaultKernelSet } from '../backend/select.js'
import type { Dtype, Floats, KernelSetName } from '../backend/types.js'
import { type ModelBatch, SequenceModel } from '../model.js'
import { type Optimizer, type OptimizerOptions, createOptimizer } from '../optimizers.js'
import { Rng } from '../rng.js'
import { LossWorkspace, batchLoss, logitRows, trainStep } from '../train-step.js'
import type { Checkpoint } from './checkpoint.js'
import type { JobSpec, TrainingSpec } from './spec.js'
import { type PreparedTask, prepareTask } from './task.js'

export interface EpochResult {
  /** 1-based number of the epoch just finished. */
  epoch: number
  loss: number
  valLoss: number | null
  /** Target values trained on in the epoch (characters, series values or labels). */
  tokens: number
}

/** The loss became NaN or infinite: training diverged (lower the learning rate or clip gradients). */
export class NonFiniteLossError extends Error {
  constructor(readonly epoch: number, readonly loss: number) {
    super(`loss became ${loss} in epoch ${epoch}; lower training.learning_rate or set training.clip_grad_norm`)
    this.name = 'NonFiniteLossError'
  }
}

export function optimizerOptions(training: TrainingSpec): OptimizerOptions {
  const options: OptimizerOptions = { lr: training.learning_rate }
  if (training.weight_decay > 0 || training.optimizer === 'adamw') options.weight_decay = training.weight_decay
  if (training.momentum > 0 && (training.optimizer === 'sgd' || training.optimizer === 'rmsprop')) options.momentum = training.momentum
  return options
}

/**
 * Trains a job epoch by epoch. Deterministic: the seed fixes the initial weights, the
 * validation split, the shuffling and the dropout masks, and a checkpoint captures the RNG,
 * the optimizer and any carried hidden state, so a resumed run reproduces the losses an
 * uninterrupted run would have produced.
 */
export class Trainer {
  readonly task: PreparedTask
  readonly model: SequenceModel
  private readonly training: TrainingSpec
  private readonly optimizer: Optimizer
  private readonly rng: Rng
  private readonly workspace = new LossWorkspace()
  /** Carried hidden state: per batch, or (stateful plans) the streams' state at the end of the epoch. */
  private carry: Floats[] = []
  private streamState: Floats = new Float64Array(0)
  private snapshot: Checkpoint
  epoch = 0
  loss: number | null = null
  bestLoss: number | null = null
  elapsedMs = 0

  /**
   * `kernels` applies to a fresh run only (default: the process's default kernel set); a resume
   * keeps the precision and kernel set recorded in its checkpoint.
   */
  constructor(spec: JobSpec, resume?: Checkpoint, kernels: KernelSetName = defaultKernelSet()) {
    this.training = spec.training
    this.task = prepareTask(spec)
    const dtype: Dtype = resume?.dtype ?? spec.model.dtype ?? 'float64'
    this.model = new SequenceModel(this.task.model, createBackend(dtype, resume?.kernels ?? kernels))
    this.rng = new Rng(spec.training.seed)
    this.model.init(this.rng)
    this.optimizer = createOptimizer(spec.training.optimizer, this.model.params.size, optimizerOptions(spec.training), dtype)
    if (resume) this.restore(resume)
    this.snapshot = this.capture()
  }

  get done(): boolean {
    return this.epoch >= this.training.epochs
  }

  /**
   * One pass over the training data. `shouldStop` is polled before every step; when it
   * returns true the partial epoch is abandoned and null returned (the last completed epoch's
   * state stays available through `checkpoint()`).
   */
  runEpoch(shouldStop: () => boolean = () => false): EpochResult | null {
    const started = performance.now()
    const t = this.training
    const plan = this.task.train
    plan.beginEpoch(t.shuffle && !t.carry_hidden ? this.rng : null)
    const epochNumber = this.epoch + 1
    let streaming = plan.stateful && t.carry_hidden && this.carry.length > 0
    if (streaming) this.streamState = this.carry[0].slice()
    let total = 0
    let weight = 0
    for (let k = 0; k < plan.batchCount; k++) {
      if (shouldStop()) return null
      const filled = plan.fill(k, true)
      filled.batch.rng = this.rng
      if (plan.stateful) {
        if (streaming) this.useState(filled.batch, this.streamState)
      } else if (t.carry_hidden && this.carry[k]) {
        this.useState(filled.batch, this.carry[k])
      }
      const loss = trainStep(this.model, filled.batch, filled.targets, this.optimizer, t.clip_grad_norm, this.workspace)
      if (!Number.isFinite(loss)) throw new NonFiniteLossError(epochNumber, loss)
      total += loss * filled.weight
      weight += filled.weight
      if (plan.stateful) {
        this.streamState = this.saveState(this.streamState, filled.batch.B)
        streaming = true
      } else if (t.carry_hidden) {
        this.carry[k] = this.saveState(this.carry[k], filled.batch.B)
      }
    }
    if (plan.stateful && t.carry_hidden) this.carry = [this.streamState.slice()]
    const loss = weight > 0 ? total / weight : 0
    const valLoss = this.validationLoss()
    if (valLoss !== null && !Number.isFinite(valLoss)) throw new NonFiniteLossError(epochNumber, valLoss)
    this.epoch = epochNumber
    this.loss = loss
    const tracked = valLoss ?? loss
    if (this.bestLoss === null || tracked < this.bestLoss) this.bestLoss = tracked
    this.elapsedMs += performance.now() - started
    this.snapshot = this.capture()
    return { epoch: epochNumber, loss, valLoss, tokens: weight }
  }

  /** Mean loss on the held-out data in evaluation mode; null without a validation split. */
  validationLoss(): number | null {
    const plan = this.task.validation
    if (!plan) return null
    plan.beginEpoch(null)
    let total = 0
    let weight = 0
    let state: Floats | null = null
    for (let k = 0; k < plan.batchCount; k++) {
      const filled = plan.fill(k, false)
      if (state) this.useState(filled.batch, state)
      const logits = this.model.forward(filled.batch)
      const loss = batchLoss(null, logits, filled.targets, logitRows(this.model, filled.batch), this.model.config.outputSize)
      total += loss * filled.weight
      weight += filled.weight
      if (plan.stateful) state = this.saveState(state ?? new Float64Array(0), filled.batch.B)
    }
    return weight > 0 ? total / weight : null
  }

  /** Starts a batch from a saved (h, c) state, detached from the graph that produced it. */
  private useState(batch: ModelBatch, state: Floats): void {
    const { h, c } = this.model.stateSizes
    const B = batch.B
    if (state.length !== (h + c) * B) return
    batch.h0 = state.subarray(0, h * B)
    if (c > 0) batch.c0 = state.subarray(h * B)
  }

  /** Copies the last forward's final (h, c) into `into` (reallocated when the size differs). */
  private saveState(into: Floats | undefined, B: number): Floats {
    const { h, c } = this.model.stateSizes
    const size = (h + c) * B
    const out = into && into.length === size ? into : this.model.params.backend.floats(size)
    out.set(this.model.rnn.hN.subarray(0, h * B))
    if (c > 0) out.set(this.model.rnn.cN.subarray(0, c * B), h * B)
    return out
  }

  /** The state at the end of the last completed epoch. */
  checkpoint(): Checkpoint {
    return this.snapshot
  }

  private capture(): Checkpoint {
    const state = this.optimizer.getState()
    return {
      meta: this.task.meta,
      model: this.task.model,
      dtype: this.model.params.backend.dtype,
      kernels: this.model.params.backend.kernels,
      epoch: this.epoch,
      loss: this.loss,
      bestLoss: this.bestLoss,
      elapsedMs: this.elapsedMs,
      rng: this.rng.getState(),
      optimizer: { name: this.optimizer.name, step: state.step, buffers: state.buffers },
      params: this.model.params.data.slice(),
      carry: this.carry.map((c) => c.slice()),
    }
  }

  private restore(c: Checkpoint): void {
    if (c.params.length !== this.model.params.size) {
      throw new Error(`checkpoint has ${c.params.length} parameters, the job's model has ${this.model.params.size}`)
    }
    if (c.optimizer.name !== this.optimizer.name) throw new Error(`checkpoint optimizer ${c.optimizer.name} differs from ${this.optimizer.name}`)
    this.model.params.data.set(c.params)
    this.optimizer.setState({ step: c.optimizer.step, buffers: c.optimizer.buffers })
    this.rng.setState(c.rng)
    this.carry = c.carry.map((a) => {
      const copy = this.model.params.backend.floats(a.length)
      copy.set(a)
      return copy
    })
    this.epoch = c.epoch
    this.loss = c.loss
    this.bestLoss = c.bestLoss
    this.elapsedMs = c.elapsedMs
  }
}

