import t from 'tap'
import { decodeCheckpoint, encodeCheckpoint } from '../../src/engine/tasks/checkpoint.js'
import type { DataSpec, JobSpec, ModelSpec, TrainingSpec } from '../../src/engine/tasks/spec.js'
import { BaseModelMismatchError, prepareTask } from '../../src/engine/tasks/task.js'
import { type InitialModel, Trainer } from '../../src/engine/tasks/trainer.js'

/**
 * Fine-tuning in the engine (training.init_from): the trainer starts from given weights, keeps
 * the source's vocabulary, labels and series normalisation, and a resume from a checkpoint
 * (or a restart before the first one) reproduces the uninterrupted run exactly.
 */
const training = (over: Partial<TrainingSpec> = {}): TrainingSpec => ({
  epochs: 6, optimizer: 'adam', learning_rate: 0.02, batch_size: 4, seed: 3, clip_grad_norm: null,
  validation_split: 0, checkpoint_every: 10, max_runtime_seconds: 3600, carry_hidden: false, shuffle: true,
  weight_decay: 0, momentum: 0, ...over,
})
const model: ModelSpec = { type: 'lstm', hidden_size: 8, num_layers: 2, bidirectional: false, dropout: 0.2, nonlinearity: 'tanh', proj_size: 0, dtype: 'float64' }
const REF = { model: 'source', version: 1 }

/** A trained source model: its checkpoint is what the runner hands a fine-tuning worker. */
function source(data: DataSpec): InitialModel {
  const trainer = new Trainer({ model, data, training: training({ epochs: 3 }) }, undefined, 'js')
  while (!trainer.done) trainer.runEpoch()
  return decodeCheckpoint(encodeCheckpoint(trainer.checkpoint()))
}

const losses = (trainer: Trainer, epochs = Infinity) => {
  const out: number[] = []
  while (!trainer.done && out.length < epochs) out.push(trainer.runEpoch()!.loss)
  return out
}

t.test('text: starts from the source weights and vocabulary; resumes and restarts reproduce the run', async (t) => {
  const init = source({ type: 'text', text: 'the quick brown fox jumps over the lazy dog. '.repeat(4), seq_len: 8 })
  // The new text uses fewer characters than the source's vocabulary.
  const spec: JobSpec = { model, data: { type: 'text', text: 'the fox the dog. '.repeat(8), seq_len: 8 }, training: training({ init_from: REF, validation_split: 0.2 }) }
  const straight = new Trainer(spec, undefined, 'js', init)
  t.same(straight.task.meta, { ...init.meta, seq_len: 8 }, 'the source vocabulary is kept')
  t.same(Array.from(straight.model.params.data), Array.from(init.params), 'the weights are the source\'s before training')
  const expected = losses(straight)

  const restarted = new Trainer(spec, undefined, 'js', init)
  t.same(losses(restarted), expected, 'a restart before the first checkpoint (init read again) trains alike')

  const first = new Trainer(spec, undefined, 'js', init)
  const head = losses(first, 2)
  const checkpoint = decodeCheckpoint(encodeCheckpoint(first.checkpoint()))
  // A resume gets the checkpoint only (the runner loads init weights for fresh starts only).
  const resumed = new Trainer(spec, checkpoint, 'js')
  t.same([...head, ...losses(resumed)], expected, 'a resume from the epoch-2 checkpoint continues exactly')
})

t.test('series and classes keep the source normalisation and labels', async (t) => {
  const series = Array.from({ length: 40 }, (_, i) => [Math.sin(i / 3) * 5 + 20, Math.cos(i / 4)])
  const init = source({ type: 'series', series, window: 6, horizon: 1 })
  if (init.meta.kind !== 'series') throw new Error('series source expected')
  const tuned = new Trainer({ model, data: { type: 'series', series: series.slice(20).map(([a, b]) => [a * 2, b]), window: 4, horizon: 2 }, training: training({ init_from: REF }) }, undefined, 'js', init)
  t.match(tuned.task.meta, { kind: 'series', window: 4, horizon: 2, mean: init.meta.mean, std: init.meta.std }, 'mean and std are the source\'s; window and horizon the job\'s')
  t.ok(losses(tuned).every(Number.isFinite))

  const examples = ['ab', 'ba', 'aab', 'bba', 'abc', 'cab'].map((input, i) => ({ input, label: ['x', 'y', 'z'][i % 3] }))
  const classes = source({ type: 'classes', examples })
  const fewer = new Trainer({ model, data: { type: 'classes', examples: [{ input: 'ab', label: 'z' }, { input: 'b', label: 'z' }] }, training: training({ init_from: REF }) }, undefined, 'js', classes)
  t.same(fewer.task.meta, classes.meta, 'one label and fewer characters still train the source\'s three-label model')
})

t.test('data the source cannot read is refused, naming what does not fit', async (t) => {
  const base = source({ type: 'pairs', pairs: [{ input: 'abc', target: 'cba' }] }).meta
  const tr = training({ init_from: REF })
  t.throws(() => prepareTask({ model, data: { type: 'pairs', pairs: [{ input: 'abd', target: 'dba' }] }, training: tr }, base), new BaseModelMismatchError('data.pairs use characters the model of training.init_from has no input for: "d"; its vocabulary (card vocabulary.tokens) is fixed by its weights'))
  t.throws(() => prepareTask({ model, data: { type: 'text', text: 'abcabc', seq_len: 2 }, training: tr }, base), BaseModelMismatchError)
  const labels = { kind: 'classes' as const, vocab: ['a', 'b'], labels: ['x', 'y'] }
  t.throws(() => prepareTask({ model, data: { type: 'classes', examples: [{ input: 'a', label: 'x' }, { input: 'b', label: 'w' }] }, training: tr }, labels), /labels the model of training\.init_from does not predict: "w"/)
  const series = { kind: 'series' as const, features: 2, multivariate: true, window: 3, horizon: 1, mean: [0, 0], std: [1, 1] }
  t.throws(() => prepareTask({ model, data: { type: 'series', series: [1, 2, 3, 4, 5], window: 3, horizon: 1 }, training: tr }, series), /has 1 feature per row but the model of training\.init_from reads 2/)
})
