import { SequenceModel } from '../../engine/model.js'
import { createOptimizer } from '../../engine/optimizers.js'
import { Rng } from '../../engine/rng.js'
import { LossWorkspace, argmaxRows, trainStep, type BatchTargets } from '../../engine/train-step.js'
import type { ModelBatch } from '../../engine/model.js'
import { median, now, secondsSince } from '../timing.js'

/** `list("hello")` as the tutorial builds it: five slots, the later 'l' (slot 3) wins the lookup. */
export const SEED_CHAR_SET = ['h', 'e', 'l', 'l', 'o'] as const

/** Ids by the tutorial's `{c: i for i, c in enumerate(char_set)}`, so a repeated char takes its last slot. */
export function seedTaskIds(word: string): Int32Array {
  const idOf = new Map<string, number>()
  SEED_CHAR_SET.forEach((c, i) => idOf.set(c, i))
  return Int32Array.from(word, (c) => {
    const id = idOf.get(c)
    if (id === undefined) throw new RangeError(`'${c}' is not in the seed task's char set`)
    return id
  })
}

export interface W1Options {
  epochs?: number
  /** Timed repetitions after the warm-up runs; each one starts from a fresh model. */
  repetitions?: number
  /** Untimed runs first: V8 needs several 200-epoch runs before its optimised code settles. */
  warmupRuns?: number
  initSeed?: number
}

export interface W1Result {
  workload: 'W1'
  name: 'seed'
  /** Median of the timed runs of `epochs` updates, after the warm-up runs. */
  seconds: number
  seconds_median: number
  seconds_min: number
  warmup_runs: number
  /** Every timed repetition in order: V8 keeps optimising well past the first warm-up run. */
  seconds_runs: number[]
  repetitions: number
  epochs: number
  /** Loss of the last epoch (computed before its update, as the PyTorch loop records it). */
  final_loss: number
  /** Argmax per step of the trained model from a zero state. */
  predicted: string
  hidden_carry: false
}

function seedTaskModel(initSeed: number): SequenceModel {
  const model = new SequenceModel({
    mode: 'rnn_tanh', inputSize: SEED_CHAR_SET.length, oneHot: true, hiddenSize: 8, numLayers: 1,
    bidirectional: false, projSize: 0, dropout: 0, outputSize: SEED_CHAR_SET.length, head: 'every_step',
  })
  model.init(new Rng(initSeed))
  return model
}

interface SeedRun { seconds: number; finalLoss: number; model: SequenceModel; batch: ModelBatch }

/** Fresh model and optimizer, then `epochs` full-batch updates; only the updates are timed. */
function trainSeedTask(epochs: number, initSeed: number): SeedRun {
  const x = seedTaskIds('hello')
  const y = seedTaskIds('elloh')
  const model = seedTaskModel(initSeed)
  const optimizer = createOptimizer('adam', model.params.size, { lr: 0.1 })
  const workspace = new LossWorkspace()
  // B = 1, so the time-major layout is the sequence itself.
  const batch: ModelBatch = {
    T: x.length, B: 1, input: { kind: 'ids', ids: x }, lengths: null, h0: null, c0: null, training: true, rng: null,
  }
  const targets: BatchTargets = { kind: 'classes', targets: y }
  let finalLoss = Number.NaN
  const start = now()
  for (let epoch = 0; epoch < epochs; epoch++) finalLoss = trainStep(model, batch, targets, optimizer, null, workspace)
  const seconds = secondsSince(start)
  return { seconds, finalLoss, model, batch }
}

export function runW1(options: W1Options = {}): W1Result {
  const epochs = options.epochs ?? 200
  const repetitions = options.repetitions ?? 15
  const warmupRuns = options.warmupRuns ?? 5
  const initSeed = options.initSeed ?? 0
  if (!(epochs >= 1 && repetitions >= 1)) throw new RangeError('W1 needs at least one epoch and one repetition')
  for (let w = 0; w < warmupRuns; w++) trainSeedTask(epochs, initSeed) // same work on fresh models, discarded
  const runs: SeedRun[] = []
  for (let r = 0; r < repetitions; r++) runs.push(trainSeedTask(epochs, initSeed))
  const first = runs[0]
  const logits = first.model.forward({ ...first.batch, training: false })
  const best = argmaxRows(new Int32Array(first.batch.T), logits, first.batch.T, SEED_CHAR_SET.length)
  return {
    workload: 'W1',
    name: 'seed',
    seconds: median(runs.map((r) => r.seconds)),
    seconds_median: median(runs.map((r) => r.seconds)),
    seconds_min: Math.min(...runs.map((r) => r.seconds)),
    warmup_runs: warmupRuns,
    seconds_runs: runs.map((r) => r.seconds),
    repetitions,
    epochs,
    final_loss: first.finalLoss,
    predicted: Array.from(best, (id) => SEED_CHAR_SET[id]).join(''),
    hidden_carry: false,
  }
}
