/**
 * Behaviour of the recurrent stack beyond single-case parity: padding masks against running
 * each sequence alone, dropout (determinism, semantics, gradients), buffer reuse across batch
 * shapes, and hidden-state continuity across chunks (forward and backward).
 */
import t, { type Test } from 'tap'
import type { Floats } from '../../src/engine/backend/types.js'
import { SequenceModel, type SequenceModelConfig } from '../../src/engine/model.js'
import { Parameters } from '../../src/engine/params.js'
import { type RecurrentConfig, type RecurrentMode, recurrentParamSpecs } from '../../src/engine/recurrent/config.js'
import type { LayerInput } from '../../src/engine/recurrent/direction.js'
import { Recurrent } from '../../src/engine/recurrent/recurrent.js'
import { Rng } from '../../src/engine/rng.js'
import { type BatchTargets, batchLoss, logitRows } from '../../src/engine/train-step.js'
import {
  LinearProbe, type ProbeBatch, assertClose, createRecurrent, describeConfig, gradCheck, randomArray, recurrentConfig,
  sampleIndices, stateSizes,
} from '../helpers/engine.js'

const MODES: RecurrentMode[] = ['rnn_tanh', 'rnn_relu', 'lstm', 'gru']
/**
 * Batched and single-sequence runs do the same arithmetic except possibly the order in which a
 * blocked matrix multiply adds its terms: they agree to a few ulps.
 */
const SAME_MATH = 1e-12

function allConfigs(numLayers: number, bidirectionalChoices: boolean[]): RecurrentConfig[] {
  const configs: RecurrentConfig[] = []
  for (const mode of MODES) for (const bidirectional of bidirectionalChoices) configs.push(recurrentConfig({ mode, numLayers, bidirectional }))
  for (const bidirectional of bidirectionalChoices) configs.push(recurrentConfig({ mode: 'lstm', hiddenSize: 5, projSize: 3, numLayers, bidirectional }))
  return configs
}

/** Rows t < len of sequence b from a time-major [T*B x width] buffer, as a [len x width] buffer. */
function sequenceRows(data: ArrayLike<number>, B: number, width: number, b: number, from: number, to: number): Float64Array {
  const out = new Float64Array((to - from) * width)
  for (let t = from; t < to; t++) for (let j = 0; j < width; j++) out[(t - from) * width + j] = data[(t * B + b) * width + j]
  return out
}

/** Sequence b's slice of a state buffer [LD x B x width], as [LD x 1 x width]. */
function stateOf(data: ArrayLike<number>, LD: number, B: number, width: number, b: number): Float64Array {
  const out = new Float64Array(LD * width)
  for (let k = 0; k < LD; k++) for (let j = 0; j < width; j++) out[k * width + j] = data[(k * B + b) * width + j]
  return out
}

function paddedValues(data: ArrayLike<number>, B: number, width: number, lengths: Int32Array, T: number): number[] {
  const values: number[] = []
  for (let b = 0; b < B; b++) for (let t = lengths[b]; t < T; t++) for (let j = 0; j < width; j++) values.push(data[(t * B + b) * width + j])
  return values
}

t.test('a padded batch equals every sequence run alone', async (t) => {
  const T = 5
  const B = 3
  const lengths = Int32Array.from([5, 3, 1])
  let seed = 10
  for (const config of allConfigs(2, [false, true])) {
    seed++
    await t.test(describeConfig(config), async (t) => {
      const batched = createRecurrent(config, seed)
      const single = createRecurrent(config, seed)
      const rnn = batched.rnn
      const rng = new Rng(seed + 1000)
      const sizes = stateSizes(rnn, B)
      const LD = config.numLayers * rnn.D
      const H = config.hiddenSize
      const I = config.inputSize
      const width = rnn.outputWidth
      // Padded input rows hold garbage: they must not matter.
      const batch: ProbeBatch = {
        T, B, lengths, input: { kind: 'dense', data: randomArray(rng, T * B * I, 5) },
        h0: randomArray(rng, sizes.h, 0.5), c0: sizes.c > 0 ? randomArray(rng, sizes.c, 0.5) : null,
      }
      const probe = new LinearProbe(rnn, batch, seed + 2000)
      const output = probe.forward().slice(0, T * B * width)
      const hN = rnn.hN.slice(0, sizes.h)
      const cN = rnn.cN.slice(0, sizes.c)
      batched.params.zeroGrad()
      const grads = probe.gradients()

      t.same(paddedValues(output, B, width, lengths, T).filter((v) => v !== 0), [], 'padded output positions are exactly 0')
      t.same(paddedValues(grads.dx!, B, I, lengths, T).filter((v) => v !== 0), [], 'padded input positions get exactly 0 gradient')

      single.params.zeroGrad()
      for (let b = 0; b < B; b++) {
        const len = lengths[b]
        const alone = new LinearProbe(single.rnn, {
          T: len, B: 1, lengths: null,
          input: { kind: 'dense', data: sequenceRows((batch.input as { data: Float64Array }).data, B, I, b, 0, len) },
          h0: stateOf(batch.h0!, LD, B, rnn.Hout, b), c0: batch.c0 ? stateOf(batch.c0, LD, B, H, b) : null,
        }, 0)
        alone.gOut.set(sequenceRows(probe.gOut, B, width, b, 0, len))
        alone.gH.set(stateOf(probe.gH, LD, B, rnn.Hout, b))
        if (alone.gC) alone.gC.set(stateOf(probe.gC!, LD, B, H, b))
        const out = alone.forward()
        assertClose(t, out.slice(0, len * width), sequenceRows(output, B, width, b, 0, len), SAME_MATH, `sequence ${b}: output`)
        assertClose(t, single.rnn.hN.slice(0, LD * rnn.Hout), stateOf(hN, LD, B, rnn.Hout, b), SAME_MATH, `sequence ${b}: h_n`)
        if (sizes.c > 0) assertClose(t, single.rnn.cN.slice(0, LD * H), stateOf(cN, LD, B, H, b), SAME_MATH, `sequence ${b}: c_n`)
        // No zeroGrad between sequences: backward adds, so grad ends as the sum over sequences.
        const g = alone.gradients()
        assertClose(t, g.dx!, sequenceRows(grads.dx!, B, I, b, 0, len), SAME_MATH, `sequence ${b}: grad x`)
        assertClose(t, g.dH0, stateOf(grads.dH0, LD, B, rnn.Hout, b), SAME_MATH, `sequence ${b}: grad h0`)
        if (g.dC0) assertClose(t, g.dC0, stateOf(grads.dC0!, LD, B, H, b), SAME_MATH, `sequence ${b}: grad c0`)
      }
      for (const e of batched.params.entries) {
        assertClose(t, batched.params.gradView(e.name), single.params.gradView(e.name), SAME_MATH, `grad ${e.name} = sum over sequences`)
      }
    })
  }
})

function modelConfig(overrides: Partial<SequenceModelConfig> & Pick<SequenceModelConfig, 'mode' | 'head'>): SequenceModelConfig {
  return {
    inputSize: 5, oneHot: true, hiddenSize: 6, numLayers: 2, bidirectional: true, projSize: 0, dropout: 0, outputSize: 4,
    ...overrides,
  }
}

/** Loss and parameter gradient of one model forward/backward (gradient zeroed first). */
function lossAndGrad(model: SequenceModel, T: number, B: number, input: LayerInput, lengths: Int32Array | null, targets: BatchTargets) {
  const batch = { T, B, input, lengths, h0: null, c0: null, training: false, rng: null }
  const rows = logitRows(model, batch)
  const O = model.config.outputSize
  const logits = model.forward(batch)
  const logitsCopy = logits.slice(0, rows * O)
  const dLogits = new Float64Array(rows * O)
  const loss = batchLoss(dLogits, logits, targets, rows, O)
  model.params.zeroGrad()
  model.backward(dLogits)
  return { loss, logits: logitsCopy, grad: model.params.grad.slice() }
}

t.test('model losses over a padded batch equal the per-sequence losses, scaled', async (t) => {
  const T = 6
  const B = 3
  const lengths = Int32Array.from([6, 4, 2])
  const N = 12 // real steps
  const rng = new Rng(77)
  const ids = new Int32Array(T * B)
  for (let r = 0; r < ids.length; r++) ids[r] = rng.int(5)
  const idsOf = (b: number) => Int32Array.from({ length: lengths[b] }, (_, tt) => ids[tt * B + b])
  let seed = 40
  for (const mode of MODES) {
    seed++
    await t.test(`${mode} every_step + cross-entropy: mean over real steps = sum of len_b/N * per-sequence mean`, async (t) => {
      const model = new SequenceModel(modelConfig({ mode, head: 'every_step' }))
      model.init(new Rng(seed))
      const targets = new Int32Array(T * B)
      for (let tt = 0; tt < T; tt++) for (let b = 0; b < B; b++) targets[tt * B + b] = tt < lengths[b] ? rng.int(4) : -1
      const whole = lossAndGrad(model, T, B, { kind: 'ids', ids }, lengths, { kind: 'classes', targets })
      let loss = 0
      const grad = new Float64Array(model.params.size)
      for (let b = 0; b < B; b++) {
        const own = Int32Array.from({ length: lengths[b] }, (_, tt) => targets[tt * B + b])
        const part = lossAndGrad(model, lengths[b], 1, { kind: 'ids', ids: idsOf(b) }, null, { kind: 'classes', targets: own })
        assertClose(t, part.logits, sequenceRows(whole.logits, B, 4, b, 0, lengths[b]), SAME_MATH, `sequence ${b}: logits`)
        const weight = lengths[b] / N
        loss += weight * part.loss
        for (let i = 0; i < grad.length; i++) grad[i] += weight * part.grad[i]
      }
      assertClose(t, [whole.loss], [loss], SAME_MATH, 'loss')
      assertClose(t, whole.grad, grad, SAME_MATH, 'parameter gradients')
    })
    await t.test(`${mode} last_step + cross-entropy and + MSE: per-sequence final states, mean over sequences`, async (t) => {
      for (const [kind, outputSize] of [['classes', 4], ['values', 2]] as const) {
        const model = new SequenceModel(modelConfig({ mode, head: 'last_step', outputSize }))
        model.init(new Rng(seed))
        const targets: BatchTargets = kind === 'classes'
          ? { kind, targets: Int32Array.from([3, 0, 2]) }
          : { kind, targets: randomArray(rng, B * outputSize) }
        const whole = lossAndGrad(model, T, B, { kind: 'ids', ids }, lengths, targets)
        let loss = 0
        const grad = new Float64Array(model.params.size)
        for (let b = 0; b < B; b++) {
          const own: BatchTargets = targets.kind === 'classes'
            ? { kind: 'classes', targets: targets.targets.slice(b, b + 1) }
            : { kind: 'values', targets: targets.targets.slice(b * outputSize, (b + 1) * outputSize) }
          const part = lossAndGrad(model, lengths[b], 1, { kind: 'ids', ids: idsOf(b) }, null, own)
          assertClose(t, part.logits, whole.logits.slice(b * outputSize, (b + 1) * outputSize), SAME_MATH, `${kind}: sequence ${b} logits`)
          loss += part.loss / B
          for (let i = 0; i < grad.length; i++) grad[i] += part.grad[i] / B
        }
        assertClose(t, [whole.loss], [loss], SAME_MATH, `${kind}: loss`)
        assertClose(t, whole.grad, grad, SAME_MATH, `${kind}: parameter gradients`)
      }
    })
  }
})

t.test('model heads read what PyTorch\'s would: fc(output) per step, fc([h_n[-2], h_n[-1]]) for last_step', async (t) => {
  const T = 4
  const B = 3
  const lengths = Int32Array.from([4, 1, 3])
  const rng = new Rng(33)
  const x = randomArray(rng, T * B * 2)
  for (const [mode, projSize, bidirectional] of [['gru', 0, true], ['lstm', 2, true], ['rnn_tanh', 0, false]] as const) {
    for (const head of ['every_step', 'last_step'] as const) {
      const model = new SequenceModel(modelConfig({ mode, head, inputSize: 2, oneHot: false, projSize, bidirectional, outputSize: 3 }))
      model.init(new Rng(34))
      const logits = model.forward({ T, B, input: { kind: 'dense', data: x }, lengths, h0: null, c0: null, training: false, rng: null })
      const Hout = model.rnn.Hout
      const D = model.rnn.D
      const F = D * Hout
      const rows = head === 'every_step' ? T * B : B
      // The features the head must read, assembled from the recurrent stack's own results.
      const features = new Float64Array(rows * F)
      if (head === 'every_step') {
        features.set(model.rnn.forward({ T, B, input: { kind: 'dense', data: x }, lengths, h0: null, c0: null, training: false, rng: null }).slice(0, rows * F))
      } else {
        const top = (model.config.numLayers - 1) * D
        for (let b = 0; b < B; b++) {
          for (let d = 0; d < D; d++) {
            for (let j = 0; j < Hout; j++) features[b * F + d * Hout + j] = model.rnn.hN[((top + d) * B + b) * Hout + j]
          }
        }
      }
      const w = model.params.view('fc.weight')
      const bias = model.params.view('fc.bias')
      const expected = new Float64Array(rows * 3)
      for (let r = 0; r < rows; r++) {
        for (let o = 0; o < 3; o++) {
          let sum = bias[o]
          for (let j = 0; j < F; j++) sum += w[o * F + j] * features[r * F + j]
          expected[r * 3 + o] = sum
        }
      }
      assertClose(t, logits.slice(0, rows * 3), expected, SAME_MATH, `${mode}${projSize ? ' proj' : ''} ${bidirectional ? 'bidirectional' : 'unidirectional'} ${head}`)
    }
  }
})

function forwardOutput(rnn: Recurrent, batch: ProbeBatch, training: boolean, rng: Rng | null): Floats {
  return rnn.forward({ ...batch, training, rng }).slice(0, batch.T * batch.B * rnn.outputWidth)
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]))
  return m
}

t.test('dropout between layers', async (t) => {
  const T = 4
  const B = 3
  const config = recurrentConfig({ mode: 'gru', numLayers: 3, bidirectional: true, dropout: 0.4 })
  const { params, rnn } = createRecurrent(config, 5)
  const rng = new Rng(6)
  const sizes = stateSizes(rnn, B)
  const batch: ProbeBatch = {
    T, B, input: { kind: 'dense', data: randomArray(rng, T * B * 3) }, lengths: Int32Array.from([4, 2, 3]),
    h0: randomArray(rng, sizes.h, 0.5), c0: null,
  }
  const a = forwardOutput(rnn, batch, true, new Rng(123))
  const b = forwardOutput(rnn, batch, true, new Rng(123))
  const c = forwardOutput(rnn, batch, true, new Rng(124))
  const evalOut = forwardOutput(rnn, batch, false, null)
  t.same(Array.from(a), Array.from(b), 'training with the same rng seed gives identical outputs')
  t.ok(maxDiff(a, c) > 1e-3, `different seeds give different outputs (max diff ${maxDiff(a, c).toExponential(2)})`)
  t.ok(maxDiff(a, evalOut) > 1e-3, 'training output differs from evaluation output')
  t.throws(() => rnn.forward({ ...batch, training: true, rng: null }), /rng/, 'training with dropout needs an rng')

  const noDropout = new Recurrent({ ...config, dropout: 0 }, params)
  const plain = forwardOutput(noDropout, batch, false, null)
  t.same(Array.from(evalOut), Array.from(plain), 'evaluation ignores dropout: equals the same weights with dropout 0')
  t.same(Array.from(forwardOutput(noDropout, batch, true, null)), Array.from(plain), 'dropout 0 in training needs no rng and changes nothing')

  const oneLayer = createRecurrent(recurrentConfig({ mode: 'lstm', numLayers: 1, dropout: 0.5 }), 8)
  const oneBatch: ProbeBatch = { ...batch, h0: null, c0: null }
  t.same(Array.from(forwardOutput(oneLayer.rnn, oneBatch, true, new Rng(1))), Array.from(forwardOutput(oneLayer.rnn, oneBatch, false, null)),
    'a single layer has no dropout (it only sits between layers)')
})

t.test('dropout is inverted dropout: each input of the next layer is zeroed with probability p, else scaled by 1/(1-p)', async (t) => {
  // Layer 1 is made an exact pass-through of its (dropped) input: relu(I · x) with zero
  // recurrent weights and biases, and x = relu outputs of layer 0 are >= 0. So the training
  // output divided by the evaluation output is the dropout mask itself.
  const T = 20
  const B = 8
  const H = 16
  const p = 0.4
  const config = recurrentConfig({ mode: 'rnn_relu', hiddenSize: H, numLayers: 2, dropout: p })
  const { params, rnn } = createRecurrent(config, 9)
  params.view('weight_hh_l1').fill(0)
  params.view('bias_ih_l1').fill(0)
  params.view('bias_hh_l1').fill(0)
  const wih = params.view('weight_ih_l1').fill(0)
  for (let j = 0; j < H; j++) wih[j * H + j] = 1
  params.view('bias_ih_l0').fill(0.3) // keeps most layer-0 outputs away from 0
  const batch: ProbeBatch = { T, B, input: { kind: 'dense', data: randomArray(new Rng(10), T * B * 3) }, lengths: null, h0: null, c0: null }
  const evalOut = forwardOutput(rnn, batch, false, null)
  const trainOut = forwardOutput(rnn, batch, true, new Rng(11))
  let zeros = 0
  let kept = 0
  let other = 0
  for (let i = 0; i < evalOut.length; i++) {
    if (evalOut[i] < 1e-3) continue
    const ratio = trainOut[i] / evalOut[i]
    if (ratio === 0) zeros++
    else if (Math.abs(ratio - 1 / (1 - p)) < 1e-12) kept++
    else other++
  }
  const n = zeros + kept
  t.equal(other, 0, 'every ratio is 0 or 1/(1-p)')
  t.ok(n > 1500, `enough samples (${n})`)
  // Binomial(n, p): the standard deviation of the fraction is sqrt(p(1-p)/n) < 0.013 here.
  t.ok(Math.abs(zeros / n - p) < 0.05, `fraction dropped ${(zeros / n).toFixed(3)} is p = ${p} within 4 standard deviations`)
})

t.test('dropout gradients: finite differences with the mask replayed from the same seed', async (t) => {
  let seed = 60
  for (const config of [
    recurrentConfig({ mode: 'gru', numLayers: 3, bidirectional: true, dropout: 0.3 }),
    recurrentConfig({ mode: 'lstm', hiddenSize: 5, projSize: 3, numLayers: 2, bidirectional: true, dropout: 0.5 }),
    recurrentConfig({ mode: 'rnn_tanh', numLayers: 2, dropout: 0.5 }),
  ]) {
    seed++
    await t.test(describeConfig(config), async (t) => {
      const T = 4
      const B = 3
      const { params, rnn } = createRecurrent(config, seed)
      const rng = new Rng(seed + 1)
      const sizes = stateSizes(rnn, B)
      const batch: ProbeBatch = {
        T, B, input: { kind: 'dense', data: randomArray(rng, T * B * 3) }, lengths: Int32Array.from([4, 2, 1]),
        h0: randomArray(rng, sizes.h, 0.5), c0: sizes.c > 0 ? randomArray(rng, sizes.c, 0.5) : null,
        training: true, rng: () => new Rng(seed + 2),
      }
      const probe = new LinearProbe(rnn, batch, seed + 3)
      params.zeroGrad()
      const g = probe.gradients()
      const analytic = params.grad.slice()
      const loss = () => probe.loss()
      const pick = new Rng(seed)
      for (const e of params.entries) {
        gradCheck(t, `d/d ${e.name}`, params.data, analytic, loss, { indices: sampleIndices(e.size, 40, pick).map((i) => e.offset + i) })
      }
      gradCheck(t, 'd/d x', (batch.input as { data: Float64Array }).data, g.dx!, loss)
      gradCheck(t, 'd/d h0', batch.h0!, g.dH0, loss)
      if (batch.c0) gradCheck(t, 'd/d c0', batch.c0, g.dC0!, loss)
    })
  }
})

/** Output, final states and every gradient of one probe run, copied out of the engine's buffers. */
function snapshot(params: Parameters, probe: LinearProbe) {
  const rnn = probe.rnn
  const sizes = stateSizes(rnn, probe.batch.B)
  const output = probe.forward().slice(0, probe.batch.T * probe.batch.B * rnn.outputWidth)
  const hN = rnn.hN.slice(0, sizes.h)
  const cN = rnn.cN.slice(0, sizes.c)
  params.zeroGrad()
  const g = probe.gradients()
  return { output, hN, cN, grad: params.grad.slice(), ...g }
}

function assertSameRun(t: Test, ours: ReturnType<typeof snapshot>, ref: ReturnType<typeof snapshot>, label: string): void {
  for (const key of ['output', 'hN', 'cN', 'grad', 'dx', 'dH0', 'dC0'] as const) {
    const a = ours[key]
    const b = ref[key]
    if (a === null || b === null) t.equal(a, b, `${label}: ${key} both absent`)
    else assertClose(t, a, b, SAME_MATH, `${label}: ${key}`)
  }
}

t.test('buffers are reused: later calls with other shapes see no stale state', async (t) => {
  let seed = 80
  for (const config of allConfigs(2, [true])) {
    seed++
    await t.test(describeConfig(config), async (t) => {
      const reused = createRecurrent(config, seed)
      const shapes: Array<{ T: number; B: number; lengths: number[] | null; ids?: boolean }> = [
        { T: 6, B: 4, lengths: [6, 5, 2, 1] },
        { T: 3, B: 2, lengths: null },
        { T: 2, B: 5, lengths: [2, 1, 2, 1, 1], ids: true },
        { T: 7, B: 1, lengths: null },
        { T: 6, B: 4, lengths: [3, 6, 1, 4] },
      ]
      let k = 0
      for (const shape of shapes) {
        k++
        const fresh = createRecurrent(config, seed)
        const rng = new Rng(seed * 10 + k)
        const sizes = stateSizes(reused.rnn, shape.B)
        const batch: ProbeBatch = {
          T: shape.T, B: shape.B, lengths: shape.lengths ? Int32Array.from(shape.lengths) : null,
          input: shape.ids
            ? { kind: 'ids', ids: Int32Array.from({ length: shape.T * shape.B }, () => rng.int(3)) }
            : { kind: 'dense', data: randomArray(rng, shape.T * shape.B * 3) },
          h0: k % 2 === 0 ? null : randomArray(rng, sizes.h, 0.5),
          c0: k % 2 === 0 || sizes.c === 0 ? null : randomArray(rng, sizes.c, 0.5),
        }
        const label = `call ${k} (T=${shape.T}, B=${shape.B}${shape.lengths ? ', padded' : ''}${shape.ids ? ', ids' : ''})`
        assertSameRun(t, snapshot(reused.params, new LinearProbe(reused.rnn, batch, k)), snapshot(fresh.params, new LinearProbe(fresh.rnn, batch, k)), label)
      }
    })
  }
})

t.test('weights changed between calls (an optimizer step) are used by the next call', async (t) => {
  let seed = 120
  for (const config of allConfigs(2, [true])) {
    seed++
    for (const kind of ['dense', 'ids'] as const) {
      const reused = createRecurrent(config, seed)
      const rng = new Rng(seed + 1)
      const T = 3
      const B = 2
      const input: LayerInput = kind === 'ids'
        ? { kind, ids: Int32Array.from({ length: T * B }, () => rng.int(3)) }
        : { kind, data: randomArray(rng, T * B * 3) }
      const batch: ProbeBatch = { T, B, input, lengths: Int32Array.from([3, 2]), h0: null, c0: null }
      snapshot(reused.params, new LinearProbe(reused.rnn, batch, 1))
      const update = randomArray(rng, reused.params.size, 0.1)
      for (let i = 0; i < update.length; i++) reused.params.data[i] += update[i]
      const fresh = new Parameters(reused.params.entries)
      fresh.data.set(reused.params.data)
      assertSameRun(t, snapshot(reused.params, new LinearProbe(reused.rnn, batch, 1)),
        snapshot(fresh, new LinearProbe(new Recurrent(config, fresh), batch, 1)), `${describeConfig(config)}, ${kind} input`)
    }
  }
})

t.test('state continuity: T steps at once = T1 steps, then T - T1 steps from (h_n, c_n)', async (t) => {
  const T = 6
  const T1 = 2
  const B = 3
  let seed = 90
  for (const config of allConfigs(2, [false])) {
    for (const lengths of [null, Int32Array.from([6, 5, 3])]) {
      seed++
      await t.test(`${describeConfig(config)}${lengths ? ', padded' : ''}`, async (t) => {
        const whole = createRecurrent(config, seed)
        const rng = new Rng(seed + 1)
        const sizes = stateSizes(whole.rnn, B)
        const I = config.inputSize
        const width = whole.rnn.outputWidth
        const batch: ProbeBatch = {
          T, B, lengths, input: { kind: 'dense', data: randomArray(rng, T * B * I) },
          h0: randomArray(rng, sizes.h, 0.5), c0: sizes.c > 0 ? randomArray(rng, sizes.c, 0.5) : null,
        }
        const ref = snapshot(whole.params, new LinearProbe(whole.rnn, batch, seed + 2))
        const probeWhole = new LinearProbe(whole.rnn, batch, seed + 2)

        // Two stacks over one parameter vector: one per chunk, so both keep their activations.
        const params = new Parameters(recurrentParamSpecs(config))
        params.data.set(whole.params.data)
        const first = new Recurrent(config, params)
        const second = new Recurrent(config, params)
        const x = (batch.input as { data: Float64Array }).data
        const rest = lengths ? lengths.map((n) => n - T1) : null
        const out1 = first.forward({ T: T1, B, input: { kind: 'dense', data: x.slice(0, T1 * B * I) }, lengths: null, h0: batch.h0, c0: batch.c0, training: false, rng: null })
          .slice(0, T1 * B * width)
        const h1 = first.hN.slice(0, sizes.h)
        const c1 = sizes.c > 0 ? first.cN.slice(0, sizes.c) : null
        const out2 = second.forward({ T: T - T1, B, input: { kind: 'dense', data: x.slice(T1 * B * I) }, lengths: rest, h0: h1, c0: c1, training: false, rng: null })
          .slice(0, (T - T1) * B * width)
        const joined = new Float64Array(T * B * width)
        joined.set(out1)
        joined.set(out2, T1 * B * width)
        assertClose(t, joined, ref.output, SAME_MATH, 'outputs')
        assertClose(t, second.hN.slice(0, sizes.h), ref.hN, SAME_MATH, 'h_n')
        if (sizes.c > 0) assertClose(t, second.cN.slice(0, sizes.c), ref.cN, SAME_MATH, 'c_n')

        // Backward: the second chunk's d h0 / d c0 is the first chunk's d h_n / d c_n.
        params.zeroGrad()
        const gOut = probeWhole.gOut
        const dx2 = second.backward(gOut.slice(T1 * B * width), probeWhole.gH, probeWhole.gC, true)!.slice(0, (T - T1) * B * I)
        const dHmid = second.dH0.slice(0, sizes.h)
        const dCmid = sizes.c > 0 ? second.dC0.slice(0, sizes.c) : null
        const dx1 = first.backward(gOut.slice(0, T1 * B * width), dHmid, dCmid, true)!.slice(0, T1 * B * I)
        const dx = new Float64Array(T * B * I)
        dx.set(dx1)
        dx.set(dx2, T1 * B * I)
        assertClose(t, params.grad, ref.grad, SAME_MATH, 'parameter gradients (sum over chunks)')
        assertClose(t, dx, ref.dx!, SAME_MATH, 'grad x')
        assertClose(t, first.dH0.slice(0, sizes.h), ref.dH0, SAME_MATH, 'grad h0')
        if (sizes.c > 0) assertClose(t, first.dC0.slice(0, sizes.c), ref.dC0!, SAME_MATH, 'grad c0')
      })
    }
  }
})
