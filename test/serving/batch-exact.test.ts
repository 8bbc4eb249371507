import t from 'tap'
import { BatchPredictor } from '../../src/engine/tasks/batch-predictor.js'
import type { Checkpoint } from '../../src/engine/tasks/checkpoint.js'
import { Predictor } from '../../src/engine/tasks/predictor.js'
import type { DataSpec, JobSpec, ModelSpec } from '../../src/engine/tasks/spec.js'
import { Trainer } from '../../src/engine/tasks/trainer.js'
import { MODEL_DEFAULTS, TRAINING_DEFAULTS } from '../helpers/job-specs.js'
import type { TapTest } from '../helpers/server.js'

/**
 * Micro-batching must not change a single bit: every row of a batched forward equals the same
 * input predicted alone by the one-row Predictor (an independent code path). Real models of
 * every task and cell type are trained for a few epochs, then asked batches whose rows have
 * different lengths (padding) and different options. This is what keeps a kernel whose
 * summation order depends on the batch dimension (a SIMD or blocked variant) from landing.
 */

function train(model: Partial<ModelSpec>, data: DataSpec, epochs = 15): Checkpoint {
  const spec: JobSpec = {
    model: { ...MODEL_DEFAULTS, ...model },
    data,
    training: { ...TRAINING_DEFAULTS, epochs, batch_size: 4, learning_rate: 0.02 },
  }
  const trainer = new Trainer(spec)
  while (!trainer.done) trainer.runEpoch()
  return trainer.checkpoint()
}

const CELLS: Partial<ModelSpec>[] = [
  { type: 'rnn', hidden_size: 7 },
  { type: 'gru', hidden_size: 9, num_layers: 2 },
  { type: 'lstm', hidden_size: 10, num_layers: 2, bidirectional: true },
  { type: 'lstm', hidden_size: 12, proj_size: 5 },
]
const name = (cell: Partial<ModelSpec>) => JSON.stringify(cell)

/** Bit equality for nested number arrays (t.same would accept -0 for 0). */
function sameBits(t: TapTest, actual: number[][], expected: number[][], what: string): void {
  const a = actual.flat()
  const e = expected.flat()
  t.equal(a.length, e.length, `${what}: length`)
  t.ok(a.every((v, i) => Object.is(v, e[i])), what)
}

const words = ['hello', 'world', 'abc', 'cab', 'bead', 'lower', 'role']
const pairs = words.map((w) => ({ input: w, target: w.slice(1) + w[0] }))
const TEXT = 'the quick brown fox jumps over the lazy dog; a bold crow waves. '.repeat(4)

for (const cell of CELLS) {
  t.test(`pairs ${name(cell)}: batched mapping equals one at a time`, async (t) => {
    const checkpoint = train(cell, { type: 'pairs', pairs })
    const single = new Predictor(checkpoint)
    const inputs = ['hello', 'ab', 'world', 'lowerroleabc', 'e', 'cab', 'hello']
    const batched = new BatchPredictor(checkpoint).mapSequences(inputs)
    t.same(batched, inputs.map((input) => single.mapSequence(input)))
  })

  t.test(`text ${name(cell)}: batched generation equals one at a time`, async (t) => {
    const checkpoint = train(cell, { type: 'text', text: TEXT, seq_len: 12 }, 4)
    const single = new Predictor(checkpoint)
    const prompts = ['the ', 'q', 'lazy dog; a bold ', 'the', 'over the lazy', 'crow']
    const options = prompts.map((_, i) => ({ length: 5 + 7 * i, temperature: [0, 1, 0.7][i % 3], topK: [0, 3, 0, 5][i % 4], seed: 1000 + i }))
    const batched = new BatchPredictor(checkpoint).generate(prompts, options)
    t.same(batched, prompts.map((prompt, i) => single.generate(prompt, options[i])))
  })

  t.test(`classes ${name(cell)}: batched probabilities equal one at a time`, async (t) => {
    const examples = ['aaab', 'bbba', 'ab', 'ba', 'aaaaaab', 'bbbbbba'].map((input) => ({ input, label: input.endsWith('b') ? 'ends-b' : 'ends-a' }))
    const checkpoint = train(cell, { type: 'classes', examples })
    const single = new Predictor(checkpoint)
    const inputs = ['ab', 'aaaaaaaaab', 'b', 'bba', 'abababab', 'a']
    const batched = new BatchPredictor(checkpoint).classify(inputs)
    const labels = (checkpoint.meta as { labels: string[] }).labels
    sameBits(t, batched.map((p) => Array.from(p)), inputs.map((input) => {
      const { probabilities } = single.classify(input)
      return labels.map((label) => probabilities[label])
    }), 'probabilities')
  })

  t.test(`series ${name(cell)}: batched forecasts equal one at a time`, async (t) => {
    const series = Array.from({ length: 60 }, (_, i) => [Math.sin(i / 3), Math.cos(i / 5) * 2])
    const checkpoint = train(cell, { type: 'series', series, window: 6, horizon: 2 }, 5)
    const single = new Predictor(checkpoint)
    const histories = [series.slice(0, 10), series.slice(3, 5), series.slice(20, 21), series.slice(30, 50)]
    const horizons = [3, 1, 7, 2]
    const batched = new BatchPredictor(checkpoint).forecast(histories, horizons)
    histories.forEach((history, b) => sameBits(t, batched[b], single.forecast(history, horizons[b]), `history ${b}`))
  })
}

t.test('a stop request ends generation between steps', async (t) => {
  const checkpoint = train({ type: 'gru', hidden_size: 6 }, { type: 'text', text: TEXT, seq_len: 8 }, 1)
  let asked = 0
  t.throws(() => new BatchPredictor(checkpoint).generate(['the'], [{ length: 50, temperature: 1, topK: 0, seed: 1 }], () => ++asked > 3), { name: 'PredictionStoppedError' })
  t.equal(asked, 4, 'stopped at the first check that said so')
})

t.test('rows whose generation or forecast is complete leave the batch', async (t) => {
  const text = train({ type: 'lstm', hidden_size: 6 }, { type: 'text', text: TEXT, seq_len: 8 }, 1)
  const predictor = new BatchPredictor(text)
  const batchSizes: number[] = []
  const forward = predictor.model.forward.bind(predictor.model)
  predictor.model.forward = (batch) => {
    batchSizes.push(batch.B)
    return forward(batch)
  }
  const lengths = [2, 5, 3]
  const out = predictor.generate(['the', 'a', 'lazy'], lengths.map((length, i) => ({ length, temperature: 1, topK: 0, seed: i })))
  t.same(out.map((o) => [...o].length), lengths)
  // The prompt pass with all three, then one step per further character of the rows still going.
  t.same(batchSizes, [3, 3, 2, 1, 1])

  const series = Array.from({ length: 40 }, (_, i) => [Math.sin(i / 3)])
  const forecaster = new BatchPredictor(train({ type: 'gru', hidden_size: 5 }, { type: 'series', series, window: 4, horizon: 1 }, 1))
  const seriesSizes: number[] = []
  const seriesForward = forecaster.model.forward.bind(forecaster.model)
  forecaster.model.forward = (batch) => {
    seriesSizes.push(batch.B)
    return seriesForward(batch)
  }
  const forecasts = forecaster.forecast([series.slice(0, 6), series.slice(6, 12)], [1, 3])
  t.same(forecasts.map((f) => f.length), [1, 3])
  t.same(seriesSizes, [2, 1, 1])
})
