/**
 * Parameters in PyTorch's names, shapes and order; state dict import/export and its errors;
 * PyTorch's default initialisation bounds and determinism.
 */
import t from 'tap'
import { SequenceModel, type SequenceModelConfig } from '../../src/engine/model.js'
import { Parameters, type StateDict } from '../../src/engine/params.js'
import { type RecurrentConfig, recurrentParamSpecs } from '../../src/engine/recurrent/config.js'
import { Rng } from '../../src/engine/rng.js'
import { loadFixture } from '../../src/parity/run.js'
import { fixturePath, recurrentConfig } from '../helpers/engine.js'

const fixture = loadFixture(fixturePath())

function modelConfig(overrides: Partial<SequenceModelConfig> = {}): SequenceModelConfig {
  return {
    mode: 'lstm', inputSize: 4, oneHot: false, hiddenSize: 5, numLayers: 2, bidirectional: true, projSize: 3,
    dropout: 0, outputSize: 7, head: 'last_step', ...overrides,
  }
}

t.test('parameter names, shapes and order are PyTorch\'s', async (t) => {
  const config = recurrentConfig({ mode: 'lstm', inputSize: 4, hiddenSize: 5, projSize: 3, numLayers: 2, bidirectional: true })
  const specs = recurrentParamSpecs(config, 'rnn.')
  const expected: Array<[string, number[]]> = []
  for (const l of [0, 1]) {
    for (const suffix of [`_l${l}`, `_l${l}_reverse`]) {
      expected.push([`rnn.weight_ih${suffix}`, [20, l === 0 ? 4 : 6]]) // layer 1 reads [forward, reverse] projected states
      expected.push([`rnn.weight_hh${suffix}`, [20, 3]])
      expected.push([`rnn.bias_ih${suffix}`, [20]])
      expected.push([`rnn.bias_hh${suffix}`, [20]])
      expected.push([`rnn.weight_hr${suffix}`, [3, 5]])
    }
  }
  t.same(specs.map((s) => [s.name, s.shape]), expected, 'LSTM, proj_size 3, 2 layers, bidirectional')

  const gates = { rnn_tanh: 1, rnn_relu: 1, gru: 3, lstm: 4 } as const
  for (const mode of ['rnn_tanh', 'rnn_relu', 'gru', 'lstm'] as const) {
    const s = recurrentParamSpecs(recurrentConfig({ mode, inputSize: 3, hiddenSize: 4, numLayers: 2 }))
    t.same(s.map((p) => [p.name, p.shape]), [
      ['weight_ih_l0', [gates[mode] * 4, 3]], ['weight_hh_l0', [gates[mode] * 4, 4]], ['bias_ih_l0', [gates[mode] * 4]], ['bias_hh_l0', [gates[mode] * 4]],
      ['weight_ih_l1', [gates[mode] * 4, 4]], ['weight_hh_l1', [gates[mode] * 4, 4]], ['bias_ih_l1', [gates[mode] * 4]], ['bias_hh_l1', [gates[mode] * 4]],
    ], `${mode}: gate rows stacked, unidirectional 2 layers`)
  }

  const model = new SequenceModel(modelConfig())
  t.same(model.params.entries.slice(-2).map((e) => [e.name, e.shape]), [['fc.weight', [7, 6]], ['fc.bias', [7]]],
    'the head follows the recurrent stack and reads [forward, reverse] final states')
})

t.test('names, shapes and order equal the state dicts PyTorch wrote into the reference file', async (t) => {
  t.ok((fixture.cells ?? []).length > 0 && (fixture.trajectories ?? []).length > 0, 'the file has cells and trajectories')
  for (const [i, c] of (fixture.cells ?? []).entries()) {
    const config: RecurrentConfig = {
      mode: c.mode, inputSize: c.input_size, hiddenSize: c.hidden_size, numLayers: c.num_layers,
      bidirectional: c.bidirectional, projSize: c.proj_size ?? 0, dropout: 0,
    }
    t.same(recurrentParamSpecs(config).map((s) => [s.name, s.shape]), Object.entries(c.params).map(([k, v]) => [k, v.shape]), `cells[${i}] ${c.mode}`)
    // Import then export gives back PyTorch's state dict exactly (row-major data, same order).
    const params = new Parameters(recurrentParamSpecs(config))
    params.loadStateDict(c.params)
    t.same(JSON.parse(JSON.stringify(params.toStateDict())), c.params, `cells[${i}]: load then export is the identity`)
  }
  for (const [i, c] of (fixture.trajectories ?? []).entries()) {
    const model = new SequenceModel({
      mode: c.mode, inputSize: c.char_set.length, oneHot: true, hiddenSize: c.hidden_size, numLayers: c.num_layers ?? 1,
      bidirectional: c.bidirectional ?? false, projSize: c.proj_size ?? 0, dropout: 0, outputSize: c.char_set.length, head: 'every_step',
    })
    t.same(model.params.entries.map((e) => [e.name, e.shape]), Object.entries(c.initial_params).map(([k, v]) => [k, v.shape]), `trajectories[${i}] ${c.mode}`)
  }
})

t.test('state dict round trip through JSON', async (t) => {
  const a = new SequenceModel(modelConfig())
  a.init(new Rng(3))
  const dict = JSON.parse(JSON.stringify(a.params.toStateDict())) as StateDict
  t.same(dict['rnn.weight_hr_l0'].shape, [3, 5], 'rnn.weight_hr_l0 is [proj_size, hidden_size]')
  t.same(dict['rnn.weight_hh_l1_reverse'].shape, [20, 3], 'rnn.weight_hh_l1_reverse is [4*hidden, proj_size]')
  t.same(dict['rnn.weight_ih_l0'].shape, [20, 4], 'rnn.weight_ih_l0 is [4*hidden, input]')
  t.same(dict['fc.weight'].shape, [7, 6], 'fc.weight is [out, in]')
  const w = a.params.view('fc.weight')
  t.equal(dict['fc.weight'].data[1 * 6 + 4], w[1 * 6 + 4], 'data is row-major: [1][4] is element 1*in + 4')

  const b = new SequenceModel(modelConfig())
  b.init(new Rng(4))
  t.notSame(Array.from(b.params.data), Array.from(a.params.data), 'a model from another seed starts different')
  b.params.loadStateDict(dict)
  t.same(Array.from(b.params.data), Array.from(a.params.data), 'every value survives JSON exactly')
  const batch = {
    T: 3, B: 2, input: { kind: 'dense' as const, data: Float64Array.from({ length: 24 }, (_, i) => Math.sin(i)) },
    lengths: Int32Array.from([3, 2]), h0: null, c0: null, training: false, rng: null,
  }
  t.same(Array.from(b.forward(batch).slice(0, 14)), Array.from(a.forward(batch).slice(0, 14)), 'the loaded model predicts the same')

  // The recurrent part alone loads from a whole-model dict by prefix; fc.* is outside it.
  const rnnOnly = new Parameters(recurrentParamSpecs(recurrentConfig({ mode: 'lstm', inputSize: 4, hiddenSize: 5, projSize: 3, numLayers: 2, bidirectional: true })))
  rnnOnly.loadStateDict(dict, 'rnn.')
  t.same(Array.from(rnnOnly.view('weight_hr_l1_reverse')), Array.from(a.params.view('rnn.weight_hr_l1_reverse')), 'loads with a prefix')
  t.same(Object.keys(rnnOnly.toStateDict('rnn.')), Object.keys(dict).filter((k) => k.startsWith('rnn.')), 'exports with a prefix')
})

t.test('state dict errors', async (t) => {
  const model = new SequenceModel(modelConfig())
  model.init(new Rng(5))
  const fresh = (): StateDict => JSON.parse(JSON.stringify(model.params.toStateDict())) as StateDict
  const load = (dict: StateDict) => () => new SequenceModel(modelConfig()).params.loadStateDict(dict)
  t.doesNotThrow(load(fresh()), 'the unmodified dict loads')

  const missing = fresh()
  delete missing['rnn.bias_hh_l1_reverse']
  t.throws(load(missing), /missing rnn\.bias_hh_l1_reverse/, 'missing name')
  const missingHead = fresh()
  delete missingHead['fc.bias']
  t.throws(load(missingHead), /missing fc\.bias/, 'missing head parameter')

  const unexpected = fresh()
  unexpected['rnn.weight_ih_l2'] = { shape: [20, 6], data: new Array(120).fill(0) }
  t.throws(load(unexpected), /unexpected.*rnn\.weight_ih_l2/, 'unexpected name')

  const transposed = fresh()
  transposed['rnn.weight_hr_l0'].shape = [5, 3]
  t.throws(load(transposed), /rnn\.weight_hr_l0.*shape/, 'a transposed shape is wrong even with the right number of values')
  const flat = fresh()
  flat['fc.weight'].shape = [42]
  t.throws(load(flat), /fc\.weight.*shape/, 'wrong rank')
  const short = fresh()
  short['rnn.bias_ih_l0'].data.pop()
  t.throws(load(short), /rnn\.bias_ih_l0.*values/, 'data shorter than the shape')

  for (const bad of [NaN, Infinity, -Infinity, null, '0.5']) {
    const dict = fresh()
    ;(dict['rnn.weight_hh_l1'].data as unknown[])[7] = bad
    t.throws(load(dict), /rnn\.weight_hh_l1\[7\].*finite/, `non-finite value ${String(bad)} (${typeof bad})`)
  }
})

t.test('Parameters layout', async (t) => {
  t.throws(() => new Parameters([{ name: 'w', shape: [2] }, { name: 'w', shape: [3] }]), /duplicate/, 'duplicate names are rejected')
  const p = new Parameters([{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [4] }])
  t.same(p.entries.map((e) => [e.offset, e.size]), [[0, 6], [6, 4]], 'tensors are contiguous in declaration order')
  p.view('b')[1] = 2.5
  p.gradView('b')[1] = -1
  t.equal(p.data[7], 2.5, 'views write into the flat vector')
  t.equal(p.grad[7], -1, 'gradient views write into the flat gradient')
  t.throws(() => p.view('c'), /unknown parameter c/)
})

/** min, max, mean, variance and a 10-bin histogram of values assumed in [-bound, bound]. */
function stats(values: ArrayLike<number>, bound: number) {
  let min = Infinity
  let max = -Infinity
  let sum = 0
  let sq = 0
  const bins = new Array(10).fill(0)
  for (let i = 0; i < values.length; i++) {
    const v = values[i]
    min = Math.min(min, v)
    max = Math.max(max, v)
    sum += v
    sq += v * v
    bins[Math.min(9, Math.max(0, Math.floor(((v + bound) / (2 * bound)) * 10)))]++
  }
  const n = values.length
  return { n, min, max, mean: sum / n, variance: sq / n - (sum / n) ** 2, bins }
}

function valuesWithPrefix(model: SequenceModel, prefix: string): number[] {
  return model.params.entries.filter((e) => e.name.startsWith(prefix)).flatMap((e) => Array.from(model.params.view(e.name)))
}

t.test('default init: PyTorch\'s bounds, uniform spread, seeded', async (t) => {
  // hidden 32 and a head reading 2 * proj_size = 16 features: the two bounds differ, so using
  // the wrong one for either part is caught by the bound or by the spread checks.
  const config = modelConfig({ inputSize: 10, hiddenSize: 32, projSize: 8, outputSize: 20 })
  const model = new SequenceModel(config)
  model.init(new Rng(42))
  const parts: Array<[string, number, number]> = [
    ['rnn.', 1 / Math.sqrt(32), 0.02],
    ['fc.', 1 / Math.sqrt(16), 0.1],
  ]
  for (const [prefix, bound, edge] of parts) {
    const s = stats(valuesWithPrefix(model, prefix), bound)
    t.ok(s.min >= -bound && s.max <= bound, `${prefix}*: ${s.n} values within ±${bound.toFixed(4)} (min ${s.min.toFixed(4)}, max ${s.max.toFixed(4)})`)
    // With n values, the chance that none lies within edge*bound of an end is (1 - edge/2)^n < 1e-7.
    t.ok(s.max > (1 - edge) * bound && s.min < -(1 - edge) * bound, `${prefix}*: values reach both ends of the range`)
    // U(-b, b): mean 0 (sd b/sqrt(3n)), variance b^2/3 (relative sd sqrt(0.8/n)); 5 standard deviations.
    t.ok(Math.abs(s.mean) < 5 * bound / Math.sqrt(3 * s.n), `${prefix}*: mean ${s.mean.toExponential(2)} ~ 0`)
    t.ok(Math.abs(s.variance / (bound * bound / 3) - 1) < 5 * Math.sqrt(0.8 / s.n), `${prefix}*: variance ~ bound^2 / 3`)
    const expected = s.n / 10
    t.ok(s.bins.every((c) => Math.abs(c - expected) < 5 * Math.sqrt(expected)), `${prefix}*: flat histogram [${s.bins.join(', ')}]`)
  }
  for (const e of model.params.entries) {
    t.ok(model.params.view(e.name).some((v) => v !== 0), `${e.name} is initialised`)
  }

  const small = new SequenceModel(modelConfig({ hiddenSize: 4, projSize: 0, bidirectional: false, numLayers: 1 }))
  small.init(new Rng(1))
  const smallRnn = stats(valuesWithPrefix(small, 'rnn.'), 0.5)
  t.ok(smallRnn.max <= 0.5 && smallRnn.min >= -0.5 && smallRnn.max > 0.4, `hidden 4: bound 1/sqrt(4) = 0.5 (max ${smallRnn.max.toFixed(3)})`)

  const again = new SequenceModel(config)
  again.init(new Rng(42))
  t.same(Array.from(again.params.data), Array.from(model.params.data), 'same seed, same weights')
  const other = new SequenceModel(config)
  other.init(new Rng(43))
  const differing = other.params.data.filter((v, i) => v !== model.params.data[i]).length
  t.equal(differing, model.params.size, 'another seed changes every weight')
})
