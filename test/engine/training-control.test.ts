/**
 * Learning-rate schedules and early stopping inside the trainer: the optimizer steps with the
 * scheduled values, early stopping follows Keras' rules and serves the best weights, metrics
 * are what their definitions say, and a run resumed from a checkpoint at any epoch continues
 * the schedule, the patience counter and the metrics exactly.
 */
import t from 'tap'
import { type AdamOptionsResolved, createOptimizer } from '../../src/engine/optimizers.js'
import { decodeCheckpoint, encodeCheckpoint } from '../../src/engine/tasks/checkpoint.js'
import { EarlyStopping } from '../../src/engine/tasks/early-stopping.js'
import { MetricAccumulator } from '../../src/engine/tasks/metrics.js'
import type { DataSpec, JobSpec, ModelSpec, TrainingSpec } from '../../src/engine/tasks/spec.js'
import { prepareTask } from '../../src/engine/tasks/task.js'
import { type EpochResult, Trainer } from '../../src/engine/tasks/trainer.js'
import { TrainingConfigError, resolveTrainingConfig } from '../../src/engine/tasks/training-config.js'
import { MODEL_DEFAULTS, TRAINING_DEFAULTS } from '../helpers/job-specs.js'

const training = (over: Partial<TrainingSpec> = {}): TrainingSpec => ({ ...TRAINING_DEFAULTS, epochs: 40, learning_rate: 0.05, batch_size: 4, seed: 3, ...over })
const model = (over: Partial<ModelSpec> = {}): ModelSpec => ({ ...MODEL_DEFAULTS, type: 'gru', hidden_size: 16, ...over })
const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima',
  'mike', 'november', 'oscar', 'papa', 'quebec', 'romeo', 'sierra', 'tango', 'uniform', 'victor', 'whiskey', 'xray']
/** Labels with no pattern to learn: the model memorises the training words and validation loss soon rises. */
const overfitting: DataSpec = { type: 'classes', examples: WORDS.map((w, i) => ({ input: w, label: 'abc'[(i * 7 + w.length) % 3] })) }
const text: DataSpec = { type: 'text', text: 'the quick brown fox jumps over the lazy dog. '.repeat(8), seq_len: 12 }
const series: DataSpec = { type: 'series', series: Array.from({ length: 80 }, (_, i) => 50 + 20 * Math.sin(i / 4) + (i % 5)), window: 8, horizon: 1 }

function runAll(trainer: Trainer): EpochResult[] {
  const out: EpochResult[] = []
  while (!trainer.done) out.push(trainer.runEpoch()!)
  return out
}

t.test('the optimizer steps with what the schedule writes: lr, SGD momentum, Adam beta1', async (t) => {
  const sgd = createOptimizer('sgd', 1, { lr: 0.1, momentum: 0.9 })
  const p = Float64Array.of(1)
  sgd.step(p, Float64Array.of(2)) // buf = 2, p = 1 - 0.1 * 2
  sgd.setHyperparameters({ lr: 0.5, momentum: 0.3 })
  sgd.step(p, Float64Array.of(1)) // buf = 0.3 * 2 + 1 = 1.6, p = 0.8 - 0.5 * 1.6
  t.equal(p[0], 0.8 - 0.5 * 1.6, 'SGD: the new lr and momentum apply from the next step')
  const adam = createOptimizer('adam', 1, { lr: 0.01 })
  adam.setHyperparameters({ lr: 0.02, momentum: 0.5 })
  const q = Float64Array.of(0)
  adam.step(q, Float64Array.of(4))
  // t = 1: m = 0.5 * 4 = 2, v = 0.001 * 16, step = lr / (1 - 0.5) * m / (sqrt(v) / sqrt(0.001) + eps)
  t.ok(Math.abs(q[0] - -(0.02 / 0.5) * 2 / (Math.sqrt(0.016) / Math.sqrt(0.001) + 1e-8)) < 1e-15, 'Adam: beta1 and lr as set')
  t.same((adam.options as AdamOptionsResolved).betas, [0.5, 0.999], 'beta2 is kept')
  const adagrad = createOptimizer('adagrad', 1, { lr: 0.1 })
  adagrad.setHyperparameters({ lr: 0.2, momentum: 0.9 })
  t.equal(adagrad.options.lr, 0.2, 'adagrad: lr set, momentum ignored')
})

t.test('ExponentialLR(gamma=1) trains bit for bit like no schedule; StepLR reports PyTorch lrs per epoch', async (t) => {
  const spec = (tr: Partial<TrainingSpec>): JobSpec => ({ model: model(), data: overfitting, training: training({ epochs: 12, ...tr }) })
  const plain = runAll(new Trainer(spec({})))
  const flat = runAll(new Trainer(spec({ lr_scheduler: { type: 'ExponentialLR', step_per: 'epoch', gamma: 1 } })))
  t.same(flat.map((r) => r.loss), plain.map((r) => r.loss), 'same losses')
  const stepped = runAll(new Trainer(spec({ lr_scheduler: { type: 'StepLR', step_per: 'epoch', step_size: 5, gamma: 0.5 } })))
  t.same(stepped.map((r) => r.lr), [0.05, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.025, 0.025, 0.0125, 0.0125], 'lr halves every 5 epochs')
  t.same(stepped.slice(0, 5).map((r) => r.loss), plain.slice(0, 5).map((r) => r.loss), 'identical until the first decay')
  t.not(stepped[6].loss, plain[6].loss, 'different after it')
})

t.test("early stopping follows Keras' EarlyStopping", async (t) => {
  const run = (values: number[], spec: Partial<ConstructorParameters<typeof EarlyStopping>[0]>) => {
    const es = new EarlyStopping({ monitor: 'val_loss', mode: 'min', patience: 0, min_delta: 0, restore_best: false, ...spec })
    const params = new Float64Array(1)
    for (const [i, v] of values.entries()) {
      params[0] = i + 1
      if (es.update(i + 1, v, params)) return { stoppedAt: es.stoppedAt, best: es.bestAt, bestParams: es.bestParams?.[0] }
    }
    return { stoppedAt: 0, best: es.bestAt, bestParams: es.bestParams?.[0] }
  }
  // Traced by hand through keras.callbacks.EarlyStopping.on_epoch_end.
  t.same(run([1, 0.9, 0.95, 0.91, 0.92], { patience: 2 }), { stoppedAt: 4, best: 2, bestParams: undefined }, 'patience 2: the second epoch without improvement stops')
  t.same(run([1, 0.9, 0.95], { patience: 0 }), { stoppedAt: 3, best: 2, bestParams: undefined }, 'patience 0: the first epoch without improvement stops')
  t.same(run([1, 1.2], { patience: 0 }), { stoppedAt: 2, best: 1, bestParams: undefined }, 'never after the first epoch')
  t.same(run([1, 0.97, 0.93, 0.9, 0.88], { patience: 1, min_delta: 0.05 }), { stoppedAt: 2, best: 1, bestParams: undefined }, 'min_delta: smaller gains are no improvement')
  t.same(run([0.5, 0.6, 0.6, 0.55, 0.7], { mode: 'max', patience: 2 }), { stoppedAt: 4, best: 2, bestParams: undefined }, 'mode max: equal is no improvement')
  t.same(run([0.5, 0.6, 0.58, 0.7, 0.69], { mode: 'max', patience: 2 }), { stoppedAt: 0, best: 4, bestParams: undefined }, 'mode max: runs on while it improves')
  t.same(run([3, 2, 2.5, 2.6, 2.7], { patience: 3, restore_best: true }), { stoppedAt: 5, best: 2, bestParams: 2 }, 'restore_best keeps the best epoch\'s weights')
})

t.test('an overfitting job stops early with the best epoch\'s weights', async (t) => {
  const spec: JobSpec = { model: model({ hidden_size: 32 }), data: overfitting, training: training({
    epochs: 60, validation_split: 0.3, early_stopping: { patience: 3, min_delta: 0, restore_best: true },
  }) }
  const trainer = new Trainer(spec)
  const results = runAll(trainer)
  const stopped = results.at(-1)!
  t.ok(stopped.stoppedEarly && trainer.stoppedEarly, 'stopped early')
  t.ok(stopped.epoch < 60, `after epoch ${stopped.epoch} of 60`)
  const valLosses = results.map((r) => r.valLoss!)
  const best = valLosses.indexOf(Math.min(...valLosses)) + 1
  t.equal(trainer.bestEpoch, best, `best epoch ${best} has the lowest val_loss`)
  t.equal(stopped.epoch - best, 3, 'patience 3: three epochs after the best')
  // The same run cut at the best epoch (early stopping does not change training) has the served weights.
  const upToBest = new Trainer({ ...spec, training: { ...spec.training, early_stopping: undefined, epochs: best } })
  runAll(upToBest)
  t.same(Array.from(trainer.checkpoint().params), Array.from(upToBest.checkpoint().params), 'the final checkpoint holds the best epoch\'s weights')
  const last = new Trainer({ ...spec, training: { ...spec.training, early_stopping: { patience: 3, min_delta: 0, restore_best: false } } })
  runAll(last)
  t.notSame(Array.from(last.checkpoint().params), Array.from(upToBest.checkpoint().params), 'without restore_best the last epoch\'s weights stay')
})

const RESUMABLE: [string, JobSpec][] = [
  ['OneCycleLR per batch, SGD momentum cycling, early stopping with restore_best', {
    model: model({ hidden_size: 32 }), data: overfitting, training: training({
      epochs: 60, optimizer: 'sgd', learning_rate: 0.1, validation_split: 0.3,
      lr_scheduler: { type: 'OneCycleLR', step_per: 'batch', max_lr: 0.3 },
      early_stopping: { monitor: 'val_accuracy', patience: 4, min_delta: 0, restore_best: true },
    }),
  }],
  ['ReduceLROnPlateau on val_loss, early stopping on val_loss', {
    model: model({ hidden_size: 32 }), data: overfitting, training: training({
      epochs: 60, validation_split: 0.3,
      lr_scheduler: { type: 'ReduceLROnPlateau', step_per: 'epoch', patience: 1, factor: 0.5, cooldown: 1 },
      early_stopping: { patience: 5, min_delta: 0.001, restore_best: false },
    }),
  }],
  ['CosineAnnealingLR on a text model with dropout', {
    model: model({ type: 'lstm', num_layers: 2, dropout: 0.2 }), data: text, training: training({
      epochs: 14, validation_split: 0.2, lr_scheduler: { type: 'CosineAnnealingLR', step_per: 'epoch', T_max: 5, eta_min: 0.001 },
    }),
  }],
  ['Adam beta1 cycling on a series', {
    model: model(), data: series, training: training({
      epochs: 16, validation_split: 0.2, lr_scheduler: { type: 'OneCycleLR', step_per: 'batch', max_lr: 0.02, three_phase: true },
      early_stopping: { monitor: 'val_rmse', patience: 2, min_delta: 0, restore_best: true },
    }),
  }],
]

for (const [label, spec] of RESUMABLE) {
  t.test(`resume from a checkpoint continues exactly: ${label}`, async (t) => {
    const reference = new Trainer(spec)
    const expected = runAll(reference)
    // Interrupt one epoch after the best one (patience counter mid-way), and somewhere early.
    const cut = Math.max(1, reference.bestEpoch + 1 < expected.length ? reference.bestEpoch + 1 : Math.floor(expected.length / 2))
    for (const at of new Set([cut, 2])) {
      const first = new Trainer(spec)
      const got = Array.from({ length: at }, () => first.runEpoch()!)
      const resumed = new Trainer(spec, decodeCheckpoint(encodeCheckpoint(first.checkpoint())))
      got.push(...runAll(resumed))
      const strip = (r: EpochResult) => ({ ...r, tokens: 0 })
      t.same(got.map(strip), expected.map(strip), `interrupted after epoch ${at}: losses, lrs, metrics and the stop identical`)
      t.same(Array.from(resumed.checkpoint().params), Array.from(reference.checkpoint().params), `interrupted after epoch ${at}: the same final weights`)
    }
    t.ok(new Set(expected.map((r) => r.lr)).size > 1, 'the learning rate changed during the run')
  })
}

t.test('metrics by their definitions', async (t) => {
  // pairs: 2 sequences x 3 steps, time-major rows t*B + b; the second sequence is one step shorter (-1 = padding).
  const pairs = new MetricAccumulator({ kind: 'pairs', vocab: ['a', 'b'] }, 2)
  const logits = Float64Array.of(1, 0, 0, 1, /* t1 */ 0, 1, 0, 1, /* t2 */ 1, 0, 5, 5)
  pairs.add(logits, { kind: 'classes', targets: Int32Array.of(0, 1, 1, 0, 0, -1) }, 6, 2)
  t.same(pairs.result(0.5), { accuracy: 4 / 5, sequence_accuracy: 1 / 2 }, 'pairs: 4 of 5 characters, 1 of 2 sequences')
  const classes = new MetricAccumulator({ kind: 'classes', vocab: ['a'], labels: ['x', 'y', 'z'] }, 3)
  classes.add(Float64Array.of(0, 2, 1, 3, 3, 0), { kind: 'classes', targets: Int32Array.of(1, 1) }, 2, 2)
  t.same(classes.result(0, 'val_'), { val_accuracy: 1 / 2 }, 'classes: ties go to the first index, as torch.argmax')
  const textM = new MetricAccumulator({ kind: 'text', vocab: ['a'], seq_len: 4 }, 1)
  t.same(textM.result(Math.log(5)), { perplexity: Math.exp(Math.log(5)), bpc: Math.log(5) / Math.LN2 }, 'text: exp(loss) and loss in bits')
  const seriesM = new MetricAccumulator({ kind: 'series', features: 2, multivariate: true, window: 3, horizon: 1, mean: [0, 0], std: [10, 2] }, 2)
  seriesM.add(Float64Array.of(1, 1, 0, 0), { kind: 'values', targets: Float64Array.of(0, 0, 0.5, -1) }, 2, 2)
  // errors in original units: 10, 2, -5, 2
  t.same(seriesM.result(0), { mae: (10 + 2 + 5 + 2) / 4, rmse: Math.sqrt((100 + 4 + 25 + 4) / 4) }, 'series: in original units')
})

t.test('training settings the task cannot honour are refused with the field and what to do', async (t) => {
  const task = prepareTask({ model: model(), data: overfitting, training: training() })
  const check = (tr: Partial<TrainingSpec>, pattern: RegExp) => {
    t.throws(() => resolveTrainingConfig(training(tr), task), { name: 'TrainingConfigError', message: pattern }, pattern.source)
  }
  check({ early_stopping: { monitor: 'val_loss', patience: 1, min_delta: 0, restore_best: false } }, /early_stopping\.monitor is "val_loss".*need training\.validation_split > 0/)
  check({ early_stopping: { monitor: 'perplexity', patience: 1, min_delta: 0, restore_best: false } }, /"perplexity", which a classes job does not report; choose one of loss, accuracy/)
  check({ lr_scheduler: { type: 'ReduceLROnPlateau', step_per: 'batch' } }, /ReduceLROnPlateau steps once per epoch/)
  check({ lr_scheduler: { type: 'OneCycleLR', step_per: 'batch', max_lr: 0.1, total_steps: 10 } }, /total_steps \(10\) is less than the 240 steps this job takes \(40 epochs x 6 batches\)/)
  check({ optimizer: 'adagrad', lr_scheduler: { type: 'OneCycleLR', step_per: 'epoch', max_lr: 0.1 } }, /cycle_momentum needs an optimizer with momentum/)
  check({ lr_scheduler: { type: 'StepLR', step_per: 'epoch', step_size: 2, monitor: 'loss' } }, /monitor applies to ReduceLROnPlateau only/)
  t.ok(TrainingConfigError)
  const resolved = resolveTrainingConfig(training({ validation_split: 0.2, early_stopping: { monitor: 'val_accuracy', patience: 1, min_delta: 0, restore_best: false }, lr_scheduler: { type: 'ReduceLROnPlateau', step_per: 'epoch' } }), prepareTask({ model: model(), data: overfitting, training: training({ validation_split: 0.2 }) }))
  t.match(resolved.early_stopping, { monitor: 'val_accuracy', mode: 'max' }, 'accuracy is maximised')
  t.match(resolved.lr_scheduler, { monitor: 'val_loss', mode: 'min' }, 'the plateau watches val_loss with a split, minimised')
})
