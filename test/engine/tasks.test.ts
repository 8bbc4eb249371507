import t from 'tap'
import { decodeCheckpoint, encodeCheckpoint } from '../../src/engine/tasks/checkpoint.js'
import { Predictor } from '../../src/engine/tasks/predictor.js'
import type { DataSpec, JobSpec, ModelSpec, TrainingSpec } from '../../src/engine/tasks/spec.js'
import { DataError, prepareTask } from '../../src/engine/tasks/task.js'
import { NonFiniteLossError, Trainer } from '../../src/engine/tasks/trainer.js'
import { UnknownCharactersError } from '../../src/engine/tasks/vocabulary.js'

const training = (over: Partial<TrainingSpec> = {}): TrainingSpec => ({
  epochs: 100, optimizer: 'adam', learning_rate: 0.05, batch_size: 8, seed: 7, clip_grad_norm: null,
  validation_split: 0, checkpoint_every: 10, max_runtime_seconds: 3600, carry_hidden: false, shuffle: true,
  weight_decay: 0, momentum: 0, ...over,
})
const model = (over: Partial<ModelSpec> = {}): ModelSpec => ({
  type: 'gru', hidden_size: 16, num_layers: 1, bidirectional: false, dropout: 0, nonlinearity: 'tanh', proj_size: 0, ...over,
})
const job = (data: DataSpec, m: Partial<ModelSpec> = {}, tr: Partial<TrainingSpec> = {}): JobSpec => ({ model: model(m), data, training: training(tr) })

function trainAll(trainer: Trainer): number[] {
  const losses: number[] = []
  while (!trainer.done) losses.push(trainer.runEpoch()!.loss)
  return losses
}

t.test('pairs: the tutorial task learns hello -> elloh and predicts it', async (t) => {
  const trainer = new Trainer(job({ type: 'pairs', pairs: [{ input: 'hello', target: 'elloh' }] }, { type: 'rnn', hidden_size: 8 },
    { epochs: 200, learning_rate: 0.1, batch_size: 1, carry_hidden: true }))
  const losses = trainAll(trainer)
  t.equal(losses.length, 200)
  t.ok(losses[199] < losses[0] / 10, `loss fell from ${losses[0]} to ${losses[199]}`)
  const predictor = new Predictor(decodeCheckpoint(encodeCheckpoint(trainer.checkpoint())))
  t.equal(predictor.mapSequence('hello'), 'elloh')
  t.throws(() => predictor.mapSequence('help'), UnknownCharactersError)
  t.same(predictor.unknownCharacters('hepz'), ['p', 'z'])
})

t.test('pairs of unequal lengths train together (padding masks)', async (t) => {
  const trainer = new Trainer(job({ type: 'pairs', pairs: [
    { input: 'abc', target: 'bcd' }, { input: 'abcdef', target: 'bcdefg' }, { input: 'de', target: 'ef' },
  ] }, { type: 'lstm', hidden_size: 24 }, { epochs: 150, learning_rate: 0.03, batch_size: 3 }))
  trainAll(trainer)
  const predictor = new Predictor(trainer.checkpoint())
  t.equal(predictor.mapSequence('abcdef'), 'bcdefg')
  t.equal(predictor.mapSequence('de'), 'ef')
})

t.test('text: a language model continues a prompt; same seed, same text', async (t) => {
  const text = 'the cat sat on the mat. '.repeat(20)
  const trainer = new Trainer(job({ type: 'text', text, seq_len: 12 }, { type: 'lstm', hidden_size: 32 }, { epochs: 40, learning_rate: 0.02 }))
  const losses = trainAll(trainer)
  t.ok(losses.at(-1)! < losses[0] / 3, `loss fell from ${losses[0]} to ${losses.at(-1)}`)
  const predictor = new Predictor(trainer.checkpoint())
  const greedy = predictor.generate('the cat ', { length: 16, temperature: 0, topK: 0, seed: 1 })
  t.equal(greedy, 'sat on the mat. ')
  const a = predictor.generate('the', { length: 30, temperature: 1, topK: 3, seed: 42 })
  const b = predictor.generate('the', { length: 30, temperature: 1, topK: 3, seed: 42 })
  t.equal(a, b)
  t.equal(a.length, 30)
})

t.test('series: forecasting a sine wave, multi-step by feeding predictions back', async (t) => {
  const series = Array.from({ length: 300 }, (_, i) => 5 + 2 * Math.sin(i * 0.3))
  const trainer = new Trainer(job({ type: 'series', series, window: 20, horizon: 5 }, { type: 'gru', hidden_size: 16 },
    { epochs: 30, learning_rate: 0.01, batch_size: 16, validation_split: 0.1 }))
  const first = trainer.runEpoch()!
  t.ok(first.valLoss !== null && Number.isFinite(first.valLoss))
  trainAll(trainer)
  const predictor = new Predictor(trainer.checkpoint())
  const history = series.slice(-20).map((v) => [v])
  const out = predictor.forecast(history, 5)
  t.equal(out.length, 5)
  out.forEach((row, k) => {
    const expected = 5 + 2 * Math.sin((300 + k) * 0.3)
    t.ok(Math.abs(row[0] - expected) < 0.3, `step ${k + 1}: ${row[0]} vs ${expected}`)
  })
})

t.test('classes: sequence classification with probabilities summing to 1', async (t) => {
  const examples = [
    ...['aaa', 'aab', 'aba', 'baa', 'aaaa', 'aaab'].map((input) => ({ input, label: 'mostly-a' })),
    ...['bbb', 'bba', 'bab', 'abb', 'bbbb', 'bbba'].map((input) => ({ input, label: 'mostly-b' })),
  ]
  const trainer = new Trainer(job({ type: 'classes', examples }, { type: 'gru', hidden_size: 12, bidirectional: true },
    { epochs: 120, learning_rate: 0.03, batch_size: 4 }))
  trainAll(trainer)
  const predictor = new Predictor(trainer.checkpoint())
  const result = predictor.classify('aaba')
  t.equal(result.label, 'mostly-a')
  const sum = Object.values(result.probabilities).reduce((a, b) => a + b, 0)
  t.ok(Math.abs(sum - 1) < 1e-12)
  t.equal(predictor.classify('bbab').label, 'mostly-b')
})

t.test('resuming from a checkpoint reproduces the uninterrupted loss trajectory exactly', async (t) => {
  const spec = job({ type: 'text', text: 'abcdefghij'.repeat(30), seq_len: 8 }, { type: 'lstm', hidden_size: 16, num_layers: 2, dropout: 0.2 },
    { epochs: 12, batch_size: 5, validation_split: 0.2 })
  const straight = new Trainer(spec)
  const expected = trainAll(straight)
  const first = new Trainer(spec)
  const losses: number[] = []
  for (let i = 0; i < 5; i++) losses.push(first.runEpoch()!.loss)
  t.equal(first.runEpoch(() => true), null, "an abandoned epoch returns null")
  const blob = encodeCheckpoint(first.checkpoint())
  const resumed = new Trainer(spec, decodeCheckpoint(blob))
  t.equal(resumed.epoch, 5)
  losses.push(...trainAll(resumed))
  t.same(losses, expected)
  t.same(Array.from(resumed.model.params.data), Array.from(straight.model.params.data))
})

t.test('carried hidden state survives a checkpoint', async (t) => {
  const spec = job({ type: 'pairs', pairs: [{ input: 'hello', target: 'elloh' }] }, { type: 'lstm', hidden_size: 8 },
    { epochs: 20, batch_size: 1, carry_hidden: true, learning_rate: 0.1 })
  const expected = trainAll(new Trainer(spec))
  const a = new Trainer(spec)
  const losses = [a.runEpoch()!.loss, a.runEpoch()!.loss, a.runEpoch()!.loss]
  const b = new Trainer(spec, decodeCheckpoint(encodeCheckpoint(a.checkpoint())))
  losses.push(...trainAll(b))
  t.same(losses, expected)
})

t.test('a diverging run stops with NonFiniteLossError', async (t) => {
  const trainer = new Trainer(job({ type: 'series', series: Array.from({ length: 50 }, (_, i) => i % 7), window: 5, horizon: 1 },
    { type: 'rnn', nonlinearity: 'relu', hidden_size: 32 }, { optimizer: 'sgd', learning_rate: 1e6, epochs: 50 }))
  t.throws(() => trainAll(trainer), NonFiniteLossError)
})

t.test('bad data is rejected with messages that say what to fix', async (t) => {
  t.throws(() => prepareTask(job({ type: 'pairs', pairs: [{ input: 'abc', target: 'ab' }] })), DataError)
  t.throws(() => prepareTask(job({ type: 'pairs', pairs: [] })), /at least one/)
  t.throws(() => prepareTask(job({ type: 'text', text: 'abc', seq_len: 8 })), /seq_len \+ 1 = 9/)
  t.throws(() => prepareTask(job({ type: 'series', series: [1, 2, 3], window: 3, horizon: 1 })), /window \+ 1 = 4/)
  t.throws(() => prepareTask(job({ type: 'series', series: [[1, 2], [3]], window: 1, horizon: 1 })), /data.series\[1\]/)
  t.throws(() => prepareTask(job({ type: 'classes', examples: [{ input: 'a', label: 'x' }, { input: 'b', label: 'x' }] })), /two labels/)
})

t.test('series near the float64 limit standardise without overflowing', async (t) => {
  const series = Array.from({ length: 60 }, (_, i) => 1e308 + 5e307 * Math.sin(i * 0.5) - 5e307)
  const task = prepareTask(job({ type: 'series', series, window: 5, horizon: 1 }))
  if (task.meta.kind !== 'series') throw new Error('expected a series task')
  t.ok(Number.isFinite(task.meta.std[0]) && task.meta.std[0] > 1e306, `std ${task.meta.std[0]} is finite and of the data's scale`)
  t.ok(Number.isFinite(task.meta.mean[0]), `mean ${task.meta.mean[0]} is finite`)
  const filled = task.train.fill(0, false)
  const values = filled.batch.input.kind === 'dense' ? filled.batch.input.data : new Float64Array(0)
  t.ok(values.every(Number.isFinite) && values.some((v) => Math.abs(v) > 0.5), 'training inputs are finite and not collapsed to 0')
})
