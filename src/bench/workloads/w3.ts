import { toTimeMajor } from '../../engine/layout.js'
import { SequenceModel, type ModelBatch } from '../../engine/model.js'
import { Rng } from '../../engine/rng.js'
import type { BatchTargets } from '../../engine/train-step.js'
import { benchBackend, engineChoice, engineFields, type EngineChoice } from '../engine-choice.js'
import { SineBatchStream, type SineBatch } from '../sine-batches.js'
import { timeTraining } from './timed-training.js'
import { evaluationLoss } from './evaluation.js'

const T = 50
const B = 16
const HIDDEN = 64

interface SeriesModelBatch {
  batch: ModelBatch
  targets: BatchTargets
}

/** Sine windows as a dense time-major [T*B x 1] input; targets [B x 1] for the last-step head. */
function seriesModelBatch(data: SineBatch, training: boolean): SeriesModelBatch {
  const input = new Float64Array(data.T * data.B)
  toTimeMajor(input, data.inputs, data.B, data.T, 1)
  return {
    batch: { T: data.T, B: data.B, input: { kind: 'dense', data: input }, lengths: null, h0: null, c0: null, training, rng: null },
    targets: { kind: 'values', targets: data.targets },
  }
}

export interface W3Options extends Partial<EngineChoice> {
  warmupSteps?: number
  timedSteps?: number
  initSeed?: number
}

export interface W3Result {
  workload: 'W3'
  name: 'gru-ts'
  precision: EngineChoice['dtype']
  kernels: EngineChoice['kernels']
  sequences_per_s: number
  mse_before: number
  mse_after: number
  seconds: number
  step_ms_median: number
  warmup_steps: number
  timed_steps: number
  T: number
  B: number
  hidden: number
}

export function runW3(options: W3Options = {}): W3Result {
  const warmupSteps = options.warmupSteps ?? 3
  const timedSteps = options.timedSteps ?? 30
  const train = new SineBatchStream(T, B, 4321).take(warmupSteps + timedSteps).map((b) => seriesModelBatch(b, true))
  const evaluation = seriesModelBatch(new SineBatchStream(T, B, 4322).next(), false)

  const choice = engineChoice(options)
  const model = new SequenceModel({
    mode: 'gru', inputSize: 1, oneHot: false, hiddenSize: HIDDEN, numLayers: 1,
    bidirectional: false, projSize: 0, dropout: 0, outputSize: 1, head: 'last_step',
  }, benchBackend(choice))
  model.init(new Rng(options.initSeed ?? 0))
  const mseBefore = evaluationLoss(model, evaluation.batch, evaluation.targets)
  const { seconds, stepMsMedian } = timeTraining(model, train, 0.01, warmupSteps, timedSteps)

  return {
    workload: 'W3',
    name: 'gru-ts',
    ...engineFields(choice),
    sequences_per_s: (B * timedSteps) / seconds,
    mse_before: mseBefore,
    mse_after: evaluationLoss(model, evaluation.batch, evaluation.targets),
    seconds,
    step_ms_median: stepMsMedian,
    warmup_steps: warmupSteps,
    timed_steps: timedSteps,
    T,
    B,
    hidden: HIDDEN,
  }
}
