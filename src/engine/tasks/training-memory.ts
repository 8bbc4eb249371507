import type { Dtype, KernelSetName } from '../backend/types.js'
import { WASM_MAX_BYTES } from '../backend/wasm.js'
import { Linear } from '../linear.js'
import { FC_PREFIX, RNN_PREFIX, type SequenceModelConfig, recurrentConfigOf } from '../model.js'
import { shapeSize } from '../params.js'
import { directions, gateCount, outputHiddenSize, recurrentParamSpecs } from '../recurrent/config.js'
import type { TrainingSpec } from './spec.js'
import type { PreparedTask } from './task.js'

/**
 * Working memory of a training job, computed from its shapes alone (nothing is allocated), so
 * the kernel set can be chosen at submission. The trainer allocates every workspace once, at
 * the largest batch of the job (see Trainer: a warm-up pass), so this is what it holds for the
 * whole run; test/engine/training-memory.test.ts holds the estimate to the real allocation.
 */
export interface TrainingMemory {
  /** Bytes of the WebAssembly memory: parameters, gradients, optimizer state, workspaces and the kernels' staging. */
  wasm: number
  /** Bytes of the JavaScript kernels' typed arrays for the same job. */
  js: number
  /** The largest batch the estimate is for. */
  T: number
  B: number
}

/** Room below 4 GiB left for the module's static data and what the estimate does not count. */
export const WASM_HEADROOM_BYTES = 64 * 2 ** 20

/** The most a job's WebAssembly memory may be estimated at and still run on the wasm kernels. */
export const WASM_JOB_LIMIT_BYTES = WASM_MAX_BYTES - WASM_HEADROOM_BYTES

/** Optimizer state vectors of the size of the weights, as the trainer configures each optimizer (optimizerOptions). */
function optimizerVectors(training: TrainingSpec): number {
  switch (training.optimizer) {
    case 'adam': case 'adamw': return 2
    case 'rmsprop': return 1 + (training.momentum > 0 ? 1 : 0)
    case 'sgd': return training.momentum > 0 ? 1 : 0
    case 'adagrad': return 1
  }
}

export function trainingMemory(task: PreparedTask, training: TrainingSpec, dtype: Dtype): TrainingMemory {
  const shapes = [task.train.maxShape, ...(task.validation ? [task.validation.maxShape] : [])]
  const T = Math.max(...shapes.map((s) => s.T))
  const B = Math.max(...shapes.map((s) => s.B))
  const config = task.model
  const rnn = recurrentConfigOf(config)
  const size = dtype === 'float32' ? 4 : 8
  /** One buffer as the wasm backend hands it out (16-byte aligned). */
  const buf = (n: number) => Math.ceil((n * size) / 16) * 16
  let common = 0
  const add = (n: number) => { common += buf(n) }

  const D = directions(rnn)
  const L = rnn.numLayers
  const H = rnn.hiddenSize
  const Hout = outputHiddenSize(rnn)
  const P = rnn.projSize
  const G = gateCount(rnn.mode) * H
  const width = D * Hout
  const O = config.outputSize
  const I0 = config.inputSize
  const rows = T * B
  const specs = [...recurrentParamSpecs(rnn, RNN_PREFIX), ...Linear.paramSpecs(FC_PREFIX, width, O)]
  const parameters = specs.reduce((sum, spec) => sum + shapeSize(spec.shape), 0)

  // Parameters, gradients, optimizer state.
  add(parameters)
  add(parameters)
  for (let k = 0; k < optimizerVectors(training); k++) add(parameters)
  // Every direction of every layer (recurrent/direction.ts and the cells' allocate()).
  for (let l = 0; l < L; l++) {
    for (let d = 0; d < D; d++) {
      add(G) // folded bias
      add(rows * G) // gates
      add((T + 1) * B * Hout) // hSlots
      add(B * G) // hg
      add(rows * G) // dG
      add(B * Hout) // dh
      add(B * Hout) // dhPrev
      add(G * Hout) // whhT
      if (rnn.mode === 'lstm') {
        add((T + 1) * B * H) // cSlots
        add(rows * H) // tanhC
        add(B * H) // dc
        if (P > 0) {
          add(rows * H) // m
          add(B * H) // dm
          add(rows * P) // dhOut
          add(P * H) // whrT
        }
      } else if (rnn.mode === 'gru') {
        add(rows * H) // hn
        add(rows * G) // dGh
      }
      if (l === 0 && config.oneHot) {
        if (rows > I0) add(I0 * G) // wihT
        add(I0 * G) // gwihT
        add(I0 * G) // gwihScratch
      }
    }
  }
  // The stack (recurrent/recurrent.ts): outputs, their gradients, dropout between layers, final states.
  for (let l = 0; l < L; l++) {
    add(rows * width)
    if (l < L - 1) add(rows * width)
    if (l > 0 && rnn.dropout > 0) { add(rows * width); add(rows * width) }
  }
  add(L * D * B * Hout) // hN
  add(L * D * B * Hout) // dH0
  add(L * D * B * H) // cN
  add(L * D * B * H) // dC0
  // The head (model.ts) and the loss gradient (train-step.ts LossWorkspace).
  const logitRows = config.head === 'every_step' ? rows : B
  if (config.head === 'every_step') {
    add(rows * O)
    add(rows * width)
  } else {
    add(B * width)
    add(B * width)
    add(B * O)
    add(L * D * B * Hout)
  }
  add(logitRows * O)
  // Carried hidden state (trainer.ts saveState): one state per batch, or one for the streams.
  if (training.carry_hidden) {
    const state = L * D * (Hout + (rnn.mode === 'lstm' ? H : 0))
    if (task.train.stateful) add(state * B)
    else for (let k = 0; k < task.train.batchCount; k++) add(state * Math.min(B, task.train.sampleCount - k * B))
  }
  const js = common + (training.early_stopping?.restore_best ? parameters * 8 : 0)

  // The wasm kernels' staging (backend/wasm.ts): the batch's ids, a dense input copied in, and
  // the packed transposes of the TN / NN products, grown as the first backward pass asks.
  let staging = 0
  if (config.oneHot) staging += buf(Math.ceil((rows * 4) / size))
  else staging += buf(rows * I0)
  const packA = new ScratchSlot(buf)
  const packB = new ScratchSlot(buf)
  const fcRows = logitRows
  packA.need(O * fcRows)
  packB.need(width * fcRows)
  packB.need(width * O)
  for (let l = L - 1; l >= 0; l--) {
    const I = l === 0 ? I0 : width
    for (let d = 0; d < D; d++) {
      packA.need(G * rows)
      packB.need(Hout * rows)
      if (l > 0 || !config.oneHot) {
        packA.need(G * rows)
        packB.need(I * rows)
        if (l > 0) packB.need(I * G)
      }
      if (rnn.mode === 'lstm' && P > 0) {
        packA.need(P * rows)
        packB.need(H * rows)
      }
    }
  }
  staging += packA.bytes + packB.bytes
  return { wasm: common + staging + STATIC_DATA_BYTES, js, T, B }
}

/** The kernels module's static data, below the first buffer (measured: 7 KiB). */
const STATIC_DATA_BYTES = 16 * 1024

/** A staging slot of the wasm backend: grows to max(n, twice its size), never shrinks (WasmBackend.scratch). */
class ScratchSlot {
  bytes = 0
  private length = 0
  constructor(private readonly buf: (n: number) => number) {}
  need(n: number): void {
    if (n <= this.length) return
    this.length = Math.max(n, 2 * this.length)
    this.bytes += this.buf(this.length)
  }
}

/** The job cannot train on any kernel set within the limits: the message says why, with the numbers. */
export class TrainingMemoryError extends RangeError {
  constructor(message: string) {
    super(message)
    this.name = 'TrainingMemoryError'
  }
}

const MIB = 2 ** 20
const mib = (bytes: number) => `${Math.ceil(bytes / MIB)} MiB`

/**
 * The kernel set a job trains on, fixed at submission: `requested` when given (an explicit
 * wasm must fit the WebAssembly memory), else wasm when its estimate fits below 4 GiB less
 * the headroom, else the JavaScript kernels (undefined = the worker's default kernel set, as for
 * every job that fits). Beyond `jsLimitBytes` nothing can run it: TrainingMemoryError.
 */
export function chooseTrainingKernels(memory: TrainingMemory, requested: KernelSetName | undefined, jsLimitBytes: number): KernelSetName | undefined {
  const shape = `batches of up to ${memory.B} sequences x ${memory.T} steps`
  const fitsWasm = memory.wasm <= WASM_JOB_LIMIT_BYTES
  if (requested === 'wasm' && !fitsWasm) {
    throw new TrainingMemoryError(`training needs about ${mib(memory.wasm)} of WebAssembly memory for ${shape}, more than the ${mib(WASM_JOB_LIMIT_BYTES)} the wasm kernels can use (4 GiB less ${mib(WASM_HEADROOM_BYTES)} headroom); ` +
      'omit model.kernels (or set "js") to train on the JavaScript kernels, or lower training.batch_size, the sequence length or hidden_size')
  }
  if (requested !== 'js' && fitsWasm) return requested
  if (memory.js > jsLimitBytes) {
    throw new TrainingMemoryError(`training needs about ${mib(memory.js)} of working memory for ${shape}, more than the ${mib(jsLimitBytes)} a job may use (MAX_TRAINING_MEMORY_BYTES)${fitsWasm ? '' : ` and the ${mib(WASM_JOB_LIMIT_BYTES)} the wasm kernels can hold`}; ` +
      'lower training.batch_size, the sequence length (data.seq_len, data.window or the inputs\' length), hidden_size or num_layers')
  }
  return 'js'
}
