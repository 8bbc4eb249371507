import { createBackend, defaultKernelSet } from '../backend/select.js'
import type { Dtype, Floats, KernelSetName } from '../backend/types.js'
import { type Interrupt, StepInterruptedError } from '../interrupt.js'
import { type ModelBatch, SequenceModel } from '../model.js'
import { type Optimizer, type OptimizerOptions, createOptimizer } from '../optimizers.js'
import { Rng } from '../rng.js'
import { TrainingSchedule, optimizerHandle } from '../schedulers/training-schedule.js'
import { LossWorkspace, batchLoss, logitRows, reserveWorkspaces, trainStep } from '../train-step.js'
import type { Checkpoint } from './checkpoint.js'
import { EarlyStopping, type EarlyStoppingSpec } from './early-stopping.js'
import { MetricAccumulator, type Metrics } from './metrics.js'
import type { JobSpec, TrainingSpec } from './spec.js'
import { DataError, type PreparedTask, type TaskMeta, prepareTask } from './task.js'
import { resolveTrainingConfig } from './training-config.js'

export interface EpochResult {
  /** 1-based number of the epoch just finished. */
  epoch: number
  loss: number
  valLoss: number | null
  /** Target values trained on in the epoch (characters, series values or labels). */
  tokens: number
  /** Task metrics on the training pass, and `val_` ones on the validation data (metrics.ts). */
  metrics: Metrics
  /** Learning rate the epoch started with. */
  lr: number
  /** Early stopping ended training after this epoch. */
  stoppedEarly: boolean
}

/** Weights (and the task metadata they were trained on) a fine-tuning job starts from. */
export interface InitialModel {
  meta: TaskMeta
  params: ArrayLike<number>
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
  private readonly schedule: TrainingSchedule | null
  private readonly earlyStopping: EarlyStopping | null
  private readonly trainMetrics: MetricAccumulator
  private readonly validationMetrics: MetricAccumulator
  /** Carried hidden state: per batch, or (stateful plans) the streams' state at the end of the epoch. */
  private carry: Floats[] = []
  private streamState: Floats = new Float64Array(0)
  private snapshot: Checkpoint
  /** A stop ended an epoch part way: the in-memory state is mid-epoch, only `checkpoint()` is whole. */
  private abandoned = false
  epoch = 0
  loss: number | null = null
  bestLoss: number | null = null
  elapsedMs = 0

  /**
   * `kernels` applies to a fresh run of a job that names none in spec.model.kernels (default: the process's default kernel set); a resume
   * keeps the precision and kernel set recorded in its checkpoint. `init` (training.init_from)
   * is the model a fresh run starts from instead of the seeded weights: its parameters, and its
   * task metadata, whose vocabulary, labels and normalisation the job keeps. Setting up runs
   * one step's worth of computation (reserveWorkspaces), which polls `interrupt`: a stop throws
   * StepInterruptedError from the constructor.
   */
  constructor(spec: JobSpec, resume?: Checkpoint, kernels: KernelSetName = defaultKernelSet(), init?: InitialModel, interrupt?: Interrupt) {
    // A resumed fine-tuning run reads the contract it adopted from its own checkpoint.
    const base = spec.training.init_from === undefined ? undefined : resume?.meta ?? init?.meta
    this.task = prepareTask(spec, base)
    const t = resolveTrainingConfig(spec.training, this.task)
    this.training = t
    const dtype: Dtype = resume?.dtype ?? spec.model.dtype ?? 'float64'
    this.model = new SequenceModel(this.task.model, createBackend(dtype, resume?.kernels ?? spec.model.kernels ?? kernels))
    this.rng = new Rng(t.seed)
    // The seeded init runs even when init_from replaces its weights, so the RNG (shuffling,
    // dropout) is where a fresh job of the same seed has it.
    this.model.init(this.rng)
    if (init && !resume) {
      if (init.params.length !== this.model.params.size) {
        throw new DataError(`the model of training.init_from has ${init.params.length} parameters; this job's model has ${this.model.params.size}`)
      }
      this.model.params.data.set(init.params)
    }
    this.schedule = t.lr_scheduler
      ? new TrainingSchedule(t.lr_scheduler, optimizerHandle(t.optimizer, t.learning_rate, t.momentum), this.task.train.batchCount, t.epochs)
      : null
    const options = optimizerOptions(t)
    this.optimizer = createOptimizer(t.optimizer, this.model.params.size, this.schedule ? this.schedule.optimizerOptions(options, t.optimizer) : options, this.model.params.backend)
    this.earlyStopping = t.early_stopping ? new EarlyStopping(t.early_stopping as EarlyStoppingSpec) : null
    this.trainMetrics = new MetricAccumulator(this.task.meta, this.task.model.outputSize)
    this.validationMetrics = new MetricAccumulator(this.task.meta, this.task.model.outputSize)
    if (resume) this.restore(resume)
    const shapes = [this.task.train.maxShape, ...(this.task.validation ? [this.task.validation.maxShape] : [])]
    reserveWorkspaces(this.model, this.workspace, Math.max(...shapes.map((s) => s.T)), Math.max(...shapes.map((s) => s.B)), interrupt ?? null)
    this.snapshot = this.capture()
  }

  /** The epoch limit is reached, or early stopping ended training. */
  get done(): boolean {
    return this.epoch >= this.training.epochs || this.stoppedEarly
  }

  get stoppedEarly(): boolean {
    return this.earlyStopping?.stopped ?? false
  }

  /** Epoch of the best monitored value so far (early stopping only; 0 otherwise). */
  get bestEpoch(): number {
    return this.earlyStopping?.bestAt ?? 0
  }

  /**
   * One pass over the training data. `shouldStop` is polled before every step and, inside
   * every step and the validation pass, every time step and between pieces of the long
   * products (trainStep's interrupt). When it returns true the partial epoch is abandoned and
   * null returned: a step under way stops before its update, and the last completed epoch's
   * state stays available through `checkpoint()`. The trainer itself is then mid-epoch and
   * runs no further epoch (it throws): training goes on from `checkpoint()` in a new Trainer,
   * which reproduces an uninterrupted run exactly. `onBatch` hears after every step how many
   * of the epoch's batches are done and how many target values they held.
   */
  runEpoch(shouldStop?: Interrupt, onBatch?: (batch: number, batches: number, tokens: number) => void): EpochResult | null {
    if (this.abandoned) throw new Error('this trainer stopped part way through an epoch; resume from its checkpoint() in a new Trainer')
    try {
      const result = this.trainEpoch(shouldStop ?? null, onBatch)
      if (result === null) this.abandoned = true
      return result
    } catch (err) {
      if (!(err instanceof StepInterruptedError)) throw err
      this.abandoned = true
      return null
    }
  }

  private trainEpoch(shouldStop: Interrupt | null, onBatch?: (batch: number, batches: number, tokens: number) => void): EpochResult | null {
    const started = performance.now()
    const t = this.training
    const plan = this.task.train
    plan.beginEpoch(t.shuffle && !t.carry_hidden ? this.rng : null)
    const epochNumber = this.epoch + 1
    let streaming = plan.stateful && t.carry_hidden && this.carry.length > 0
    if (streaming) this.streamState = this.carry[0].slice()
    let total = 0
    let weight = 0
    const lr = this.schedule?.lr ?? t.learning_rate
    const metrics = this.trainMetrics
    metrics.reset()
    for (let k = 0; k < plan.batchCount; k++) {
      if (shouldStop?.()) return null
      const filled = plan.fill(k, true)
      filled.batch.rng = this.rng
      if (plan.stateful) {
        if (streaming) this.useState(filled.batch, this.streamState)
      } else if (t.carry_hidden && this.carry[k]) {
        this.useState(filled.batch, this.carry[k])
      }
      this.schedule?.apply(this.optimizer)
      const loss = trainStep(this.model, filled.batch, filled.targets, this.optimizer, t.clip_grad_norm, this.workspace,
        (logits, rows) => metrics.add(logits, filled.targets, rows, filled.batch.B), shouldStop)
      if (!Number.isFinite(loss)) throw new NonFiniteLossError(epochNumber, loss)
      this.schedule?.afterBatch()
      total += loss * filled.weight
      weight += filled.weight
      onBatch?.(k + 1, plan.batchCount, weight)
      if (plan.stateful) {
        this.streamState = this.saveState(this.streamState, filled.batch.B)
        streaming = true
      } else if (t.carry_hidden) {
        this.carry[k] = this.saveState(this.carry[k], filled.batch.B)
      }
    }
    if (plan.stateful && t.carry_hidden) this.carry = [this.streamState.slice()]
    const loss = weight > 0 ? total / weight : 0
    const valLoss = this.validationLoss(shouldStop)
    if (valLoss !== null && !Number.isFinite(valLoss)) throw new NonFiniteLossError(epochNumber, valLoss)
    const logs: Metrics = { loss, ...metrics.result(loss) }
    if (valLoss !== null) Object.assign(logs, { val_loss: valLoss }, this.validationMetrics.result(valLoss, 'val_'))
    this.epoch = epochNumber
    this.loss = loss
    const tracked = valLoss ?? loss
    if (this.bestLoss === null || tracked < this.bestLoss) this.bestLoss = tracked
    this.schedule?.afterEpoch(logs)
    const es = this.earlyStopping
    if (es) es.update(epochNumber, logs[es.spec.monitor], this.model.params.data)
    // restore_best: the model that ends training (and is served) is the best epoch's.
    if (this.done && es?.bestParams) this.model.params.data.set(es.bestParams)
    this.elapsedMs += performance.now() - started
    this.snapshot = this.capture()
    const { loss: _loss, val_loss: _valLoss, ...reported } = logs
    return { epoch: epochNumber, loss, valLoss, tokens: weight, metrics: finiteOnly(reported), lr, stoppedEarly: this.stoppedEarly }
  }

  /**
   * Mean loss on the held-out data in evaluation mode (metrics in validationMetrics); null
   * without a validation split. Polls `interrupt` as a training step does.
   */
  validationLoss(interrupt: Interrupt | null = null): number | null {
    const plan = this.task.validation
    if (!plan) return null
    this.validationMetrics.reset()
    plan.beginEpoch(null)
    let total = 0
    let weight = 0
    let state: Floats | null = null
    for (let k = 0; k < plan.batchCount; k++) {
      const filled = plan.fill(k, false)
      if (state) this.useState(filled.batch, state)
      const logits = this.model.forward(filled.batch, interrupt)
      const rows = logitRows(this.model, filled.batch)
      const loss = batchLoss(null, logits, filled.targets, rows, this.model.config.outputSize)
      this.validationMetrics.add(logits, filled.targets, rows, filled.batch.B)
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
      schedule: this.schedule?.getState() ?? null,
      earlyStopping: this.earlyStopping
        ? { ...this.earlyStopping.getState(), bestParams: this.earlyStopping.bestParams && this.earlyStopping.bestParams.slice() }
        : null,
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
    if (this.schedule && c.schedule) this.schedule.setState(c.schedule)
    if (this.earlyStopping && c.earlyStopping) this.earlyStopping.setState(c.earlyStopping, c.earlyStopping.bestParams)
  }
}

/** perplexity can overflow to Infinity on a huge loss; JSON and the database cannot hold it. */
function finiteOnly(metrics: Metrics): Metrics {
  const out: Metrics = {}
  for (const [k, v] of Object.entries(metrics)) if (Number.isFinite(v)) out[k] = v
  return out
}

