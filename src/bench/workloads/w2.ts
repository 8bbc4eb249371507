import type { Backend } from '../../engine/backend/types.js'
import { SequenceModel, type ModelBatch } from '../../engine/model.js'
import { Rng } from '../../engine/rng.js'
import type { BatchTargets } from '../../engine/train-step.js'
import { CharBatchStream, idsToTimeMajor, type CharBatch } from '../char-batches.js'
import { loadCorpus, type Corpus } from '../corpus.js'
import { benchBackend, engineChoice, engineFields, type EngineChoice } from '../engine-choice.js'
import { timeTraining } from './timed-training.js'
import { evaluationLoss } from './evaluation.js'

export const CHAR_LM_T = 32
export const CHAR_LM_B = 32
export const CHAR_LM_HIDDEN = 128

/** One-hot(V) -> LSTM(V, 128) -> Linear(128, V) on every step: the W2 model, reused by W4. */
export function charLanguageModel(vocabularySize: number, initSeed: number, backend?: Backend): SequenceModel {
  const model = new SequenceModel({
    mode: 'lstm', inputSize: vocabularySize, oneHot: true, hiddenSize: CHAR_LM_HIDDEN, numLayers: 1,
    bidirectional: false, projSize: 0, dropout: 0, outputSize: vocabularySize, head: 'every_step',
  }, backend)
  model.init(new Rng(initSeed))
  return model
}

export interface CharModelBatch {
  batch: ModelBatch
  targets: BatchTargets & { kind: 'classes' }
}

/** A character batch in the engine's time-major layout (row t*B + b), inputs and targets alike. */
export function charModelBatch(data: CharBatch, training: boolean): CharModelBatch {
  const { T, B } = data
  const ids = idsToTimeMajor(new Int32Array(T * B), data.inputs, B, T)
  const targets = idsToTimeMajor(new Int32Array(T * B), data.targets, B, T)
  return {
    batch: { T, B, input: { kind: 'ids', ids }, lengths: null, h0: null, c0: null, training, rng: null },
    targets: { kind: 'classes', targets },
  }
}

/**
 * FLOPs of the matrix multiplies of one W2 training step over N = T·B positions: the recurrent
 * product h·W_hh^T forward, dh = dG·W_hh and dW_hh = dG^T·H backward (3 × N·4H·H), and the head's
 * forward, dX and dW (3 × N·V·H); 2 per multiply-add. The one-hot input is a gather, not a product.
 */
export function stepMatrixFlops(N: number, V: number, H: number): number {
  return 2 * N * (3 * 4 * H * H + 3 * V * H)
}

export interface W2Options extends Partial<EngineChoice> {
  warmupSteps?: number
  timedSteps?: number
  initSeed?: number
  corpus?: Corpus
}

export interface W2Result {
  workload: 'W2'
  name: 'charlm'
  precision: EngineChoice['dtype']
  kernels: EngineChoice['kernels']
  tokens_per_s: number
  /** Matrix-multiply floating-point operations per second (2·m·n·k of every product of a step). */
  gflop_per_s: number
  loss_before: number
  loss_after: number
  seconds: number
  step_ms_median: number
  warmup_steps: number
  timed_steps: number
  T: number
  B: number
  vocabulary: number
  hidden: number
}

export function runW2(options: W2Options = {}): W2Result {
  const warmupSteps = options.warmupSteps ?? 3
  const timedSteps = options.timedSteps ?? 20
  const corpus = options.corpus ?? loadCorpus()
  const V = corpus.vocabulary.length
  const T = CHAR_LM_T
  const B = CHAR_LM_B
  // Batches 0 .. warmup-1 warm up, the next `timedSteps` are timed; all built before any timing.
  const train = new CharBatchStream(corpus.ids, T, B, 1234).take(warmupSteps + timedSteps).map((b) => charModelBatch(b, true))
  const evaluation = charModelBatch(new CharBatchStream(corpus.ids, T, B, 1235).next(), false)

  const choice = engineChoice(options)
  const model = charLanguageModel(V, options.initSeed ?? 0, benchBackend(choice))
  const lossBefore = evaluationLoss(model, evaluation.batch, evaluation.targets)
  const { seconds, stepMsMedian } = timeTraining(model, train, 0.002, warmupSteps, timedSteps)

  return {
    workload: 'W2',
    name: 'charlm',
    ...engineFields(choice),
    tokens_per_s: (T * B * timedSteps) / seconds,
    gflop_per_s: (stepMatrixFlops(T * B, V, CHAR_LM_HIDDEN) * timedSteps) / seconds / 1e9,
    loss_before: lossBefore,
    loss_after: evaluationLoss(model, evaluation.batch, evaluation.targets),
    seconds,
    step_ms_median: stepMsMedian,
    warmup_steps: warmupSteps,
    timed_steps: timedSteps,
    T,
    B,
    vocabulary: V,
    hidden: CHAR_LM_HIDDEN,
  }
}
