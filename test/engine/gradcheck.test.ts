/**
 * Finite-difference gradient checks for what the PyTorch fixtures do not cover: padding masks
 * in every mode and direction, stacked layers, projections, one-hot id inputs and the model
 * heads with their losses. Everything runs in float64 with central differences (see
 * test/helpers/engine.ts for the step and the tolerance).
 */
import t, { type Test } from 'tap'
import { SequenceModel, type SequenceModelConfig } from '../../src/engine/model.js'
import { Parameters } from '../../src/engine/params.js'
import { type RecurrentConfig, type RecurrentMode, directionSuffix, recurrentParamSpecs } from '../../src/engine/recurrent/config.js'
import type { LayerInput } from '../../src/engine/recurrent/direction.js'
import { Recurrent } from '../../src/engine/recurrent/recurrent.js'
import { Rng } from '../../src/engine/rng.js'
import { type BatchTargets, batchLoss, logitRows } from '../../src/engine/train-step.js'
import {
  LinearProbe, type ProbeBatch, assertClose, createRecurrent, describeConfig, gradCheck, randomArray, recurrentConfig,
  sampleIndices, stateSizes,
} from '../helpers/engine.js'

const MODES: RecurrentMode[] = ['rnn_tanh', 'rnn_relu', 'lstm', 'gru']
const T = 5
const B = 3
/** One full-length sequence, two shorter ones: padding at the end of rows 1 and 2. */
const LENGTHS = Int32Array.from([T, 2, 1])
/** Parameter entries checked per tensor; larger tensors are sampled (seeded). */
const MAX_ENTRIES_PER_TENSOR = 60

function denseBatch(rnn: Recurrent, seed: number, lengths: Int32Array | null): ProbeBatch {
  const rng = new Rng(seed)
  const sizes = stateSizes(rnn, B)
  return {
    T, B,
    input: { kind: 'dense', data: randomArray(rng, T * B * rnn.config.inputSize) },
    lengths,
    h0: randomArray(rng, sizes.h, 0.5),
    c0: sizes.c > 0 ? randomArray(rng, sizes.c, 0.5) : null,
  }
}

/** FD check of every parameter tensor (sampled), the input, h0 and c0 under the probe loss. */
function checkProbe(t: Test, params: Parameters, probe: LinearProbe, seed: number): void {
  params.zeroGrad()
  const { dx, dH0, dC0 } = probe.gradients()
  const analytic = params.grad.slice()
  const loss = () => probe.loss()
  const pick = new Rng(seed)
  for (const e of params.entries) {
    const indices = sampleIndices(e.size, MAX_ENTRIES_PER_TENSOR, pick).map((i) => e.offset + i)
    gradCheck(t, `d/d ${e.name}`, params.data, analytic, loss, { indices })
  }
  const input = probe.batch.input
  if (input.kind === 'dense') gradCheck(t, 'd/d x', input.data, dx!, loss)
  gradCheck(t, 'd/d h0', probe.batch.h0!, dH0, loss)
  if (probe.batch.c0) gradCheck(t, 'd/d c0', probe.batch.c0, dC0!, loss)
}

/**
 * Smallest |pre-activation| over every real step of every layer and direction of a relu stack,
 * recomputed independently from each layer's outputs (which are also checked against that
 * recomputation). Central differences are only valid away from relu's kink at 0.
 */
function reluMargin(t: Test, config: RecurrentConfig, params: Parameters, batch: ProbeBatch): number {
  const D = config.bidirectional ? 2 : 1
  const H = config.hiddenSize
  const lengths = batch.lengths ?? new Int32Array(B).fill(T)
  const dict = params.toStateDict()
  const x = (batch.input as { data: Float64Array }).data
  let input: ArrayLike<number> = x
  let inputWidth = config.inputSize
  let margin = Infinity
  let mismatch = 0
  for (let l = 0; l < config.numLayers; l++) {
    // Layer l's outputs: the first l + 1 layers of the same weights.
    const sub = { ...config, numLayers: l + 1 }
    const subParams = new Parameters(recurrentParamSpecs(sub))
    subParams.loadStateDict(Object.fromEntries(subParams.entries.map((e) => [e.name, dict[e.name]])))
    const out = new Recurrent(sub, subParams).forward({
      T, B, input: { kind: 'dense', data: x }, lengths: batch.lengths, h0: batch.h0, c0: null, training: false, rng: null,
    }).slice(0, T * B * D * H)
    for (let d = 0; d < D; d++) {
      const s = directionSuffix(l, d)
      const wih = params.view(`weight_ih${s}`)
      const whh = params.view(`weight_hh${s}`)
      const bih = params.view(`bias_ih${s}`)
      const bhh = params.view(`bias_hh${s}`)
      const h0 = ((l * D + d) * B) * H
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < lengths[b]; t++) {
          const prevT = d === 0 ? t - 1 : t + 1
          const first = d === 0 ? t === 0 : t === lengths[b] - 1
          for (let j = 0; j < H; j++) {
            let pre = bih[j] + bhh[j]
            for (let i = 0; i < inputWidth; i++) pre += wih[j * inputWidth + i] * input[(t * B + b) * inputWidth + i]
            for (let k = 0; k < H; k++) {
              const h = first ? batch.h0![h0 + b * H + k] : out[(prevT * B + b) * D * H + d * H + k]
              pre += whh[j * H + k] * h
            }
            margin = Math.min(margin, Math.abs(pre))
            mismatch = Math.max(mismatch, Math.abs(Math.max(pre, 0) - out[(t * B + b) * D * H + d * H + j]))
          }
        }
      }
    }
    input = out
    inputWidth = D * H
  }
  t.ok(mismatch < 1e-12, `relu outputs match an independent recomputation (max diff ${mismatch.toExponential(2)})`)
  return margin
}

t.test('recurrent stacks with padding masks: every gradient', async (t) => {
  const configs: RecurrentConfig[] = []
  for (const mode of MODES) {
    for (const bidirectional of [false, true]) {
      for (const numLayers of [1, 2]) configs.push(recurrentConfig({ mode, bidirectional, numLayers }))
    }
  }
  for (const bidirectional of [false, true]) {
    for (const numLayers of [1, 2]) configs.push(recurrentConfig({ mode: 'lstm', hiddenSize: 5, projSize: 3, bidirectional, numLayers }))
  }
  let seed = 100
  for (const config of configs) {
    seed++
    await t.test(describeConfig(config), async (t) => {
      const { params, rnn } = createRecurrent(config, seed)
      const batch = denseBatch(rnn, seed + 1000, LENGTHS)
      if (config.mode === 'rnn_relu') {
        // eps * |d pre / d value| is below 1e-5 here, so a margin of 1e-4 keeps every
        // perturbed evaluation on the same side of every kink.
        const margin = reluMargin(t, config, params, batch)
        t.ok(margin > 1e-4, `no relu pre-activation within 1e-4 of the kink (min |pre| ${margin.toExponential(2)})`)
      }
      checkProbe(t, params, new LinearProbe(rnn, batch, seed + 2000), seed)
    })
  }
})

/** Time-major one-hot ids (some negative = an all-zero row) and the same input written densely. */
function oneHotInputs(V: number, seed: number, steps = T, batch = B): { ids: LayerInput; dense: LayerInput } {
  const rng = new Rng(seed)
  const ids = new Int32Array(steps * batch)
  for (let r = 0; r < ids.length; r++) ids[r] = rng.int(V - 1) // the last vocabulary entry stays unused
  ids[1] = -1 // a real step of sequence 1 whose input is all zeros
  ids[ids.length - 1] = -1 // the last step of the last sequence (padded in the long batch)
  const data = new Float64Array(steps * batch * V)
  ids.forEach((id, r) => { if (id >= 0) data[r * V + id] = 1 })
  return { ids: { kind: 'ids', ids }, dense: { kind: 'dense', data } }
}

t.test('one-hot ids equal the same input as dense one-hot rows', async (t) => {
  const V = 6
  // Many rows (training) and fewer rows than the vocabulary (generation) may take different paths.
  const shapes = [
    { steps: T, batch: B, lengths: LENGTHS },
    { steps: 2, batch: 2, lengths: Int32Array.from([2, 1]) },
  ]
  let seed = 300
  for (const mode of MODES) {
    for (const projSize of mode === 'lstm' ? [0, 2] : [0]) {
      for (const { steps, batch, lengths } of shapes) {
        seed++
        const config = recurrentConfig({ mode, inputSize: V, numLayers: 2, bidirectional: true, projSize })
        await t.test(`${describeConfig(config)}, ${steps * batch} rows`, async (t) => {
          const { ids, dense } = oneHotInputs(V, seed, steps, batch)
          const viaIds = createRecurrent(config, seed)
          const viaDense = createRecurrent(config, seed)
          const sizes = stateSizes(viaIds.rnn, batch)
          const stateRng = new Rng(seed + 1000)
          const base = {
            T: steps, B: batch, lengths,
            h0: randomArray(stateRng, sizes.h, 0.5), c0: sizes.c > 0 ? randomArray(stateRng, sizes.c, 0.5) : null,
          }
          const probeIds = new LinearProbe(viaIds.rnn, { ...base, input: ids }, seed + 2000)
          const probeDense = new LinearProbe(viaDense.rnn, { ...base, input: dense }, seed + 2000)
          // Same sums, only the order of adding zeros may differ: equal to rounding.
          const tol = 1e-13
          assertClose(t, probeIds.forward().slice(), probeDense.forward().slice(), tol, 'output')
          assertClose(t, viaIds.rnn.hN.slice(0, sizes.h), viaDense.rnn.hN.slice(0, sizes.h), tol, 'h_n')
          if (sizes.c > 0) assertClose(t, viaIds.rnn.cN.slice(0, sizes.c), viaDense.rnn.cN.slice(0, sizes.c), tol, 'c_n')
          viaIds.params.zeroGrad()
          viaDense.params.zeroGrad()
          const gIds = probeIds.gradients()
          const gDense = probeDense.gradients()
          t.equal(gIds.dx, null, 'ids inputs have no input gradient')
          for (const e of viaIds.params.entries) {
            assertClose(t, viaIds.params.gradView(e.name), viaDense.params.gradView(e.name), tol, `grad ${e.name}`)
          }
          assertClose(t, gIds.dH0, gDense.dH0, tol, 'grad h0')
          if (gIds.dC0) assertClose(t, gIds.dC0, gDense.dC0!, tol, 'grad c0')
          // Unused vocabulary columns and the negative ids contribute nothing to weight_ih_l0.
          const used = new Set(Array.from((ids as { ids: Int32Array }).ids).filter((id) => id >= 0))
          const gw = viaIds.params.gradView('weight_ih_l0')
          let unusedMax = 0
          for (let g = 0; g < gw.length / V; g++) for (let v = 0; v < V; v++) if (!used.has(v)) unusedMax = Math.max(unusedMax, Math.abs(gw[g * V + v]))
          t.ok(used.size < V, 'some vocabulary entries are unused')
          t.equal(unusedMax, 0, 'columns of ids never seen get no gradient')
        })
      }
    }
  }
  for (const { steps, batch, lengths } of shapes) {
    await t.test(`ids path, ${steps * batch} rows: finite differences of every parameter`, async (t) => {
      const config = recurrentConfig({ mode: 'gru', inputSize: V, numLayers: 2, bidirectional: true })
      const { params, rnn } = createRecurrent(config, 399)
      const stateRng = new Rng(1399)
      const probe = new LinearProbe(rnn, {
        T: steps, B: batch, lengths, input: oneHotInputs(V, 399, steps, batch).ids,
        h0: randomArray(stateRng, stateSizes(rnn, batch).h, 0.5), c0: null,
      }, 2399)
      checkProbe(t, params, probe, 399)
    })
  }
})

function modelConfig(overrides: Partial<SequenceModelConfig> & Pick<SequenceModelConfig, 'mode' | 'head'>): SequenceModelConfig {
  return {
    inputSize: 2, oneHot: false, hiddenSize: 4, numLayers: 2, bidirectional: true, projSize: 0, dropout: 0, outputSize: 3,
    ...overrides,
  }
}

function describeModel(c: SequenceModelConfig): string {
  return `${c.mode}${c.projSize ? ` proj=${c.projSize}` : ''} L=${c.numLayers} ${c.bidirectional ? 'bidirectional' : 'unidirectional'}`
}

/** FD check of every model parameter tensor under the model's own loss (PyTorch default init). */
function checkModel(t: Test, model: SequenceModel, input: LayerInput, targets: BatchTargets, seed: number): void {
  const batch = { T, B, input, lengths: LENGTHS, h0: null, c0: null, training: false, rng: null }
  const rows = logitRows(model, batch)
  const O = model.config.outputSize
  const loss = () => batchLoss(null, model.forward(batch), targets, rows, O)
  model.params.zeroGrad()
  const logits = model.forward(batch)
  const dLogits = new Float64Array(rows * O)
  batchLoss(dLogits, logits, targets, rows, O)
  model.backward(dLogits)
  const analytic = model.params.grad.slice()
  const pick = new Rng(seed)
  for (const e of model.params.entries) {
    const indices = sampleIndices(e.size, MAX_ENTRIES_PER_TENSOR, pick).map((i) => e.offset + i)
    gradCheck(t, `d/d ${e.name}`, model.params.data, analytic, loss, { indices })
  }
}

const MODEL_VARIANTS: Array<Pick<SequenceModelConfig, 'mode' | 'projSize' | 'hiddenSize'>> = [
  { mode: 'rnn_tanh', projSize: 0, hiddenSize: 4 },
  { mode: 'lstm', projSize: 0, hiddenSize: 4 },
  { mode: 'lstm', projSize: 2, hiddenSize: 4 },
  { mode: 'gru', projSize: 0, hiddenSize: 4 },
]

t.test('forecasting: last_step head + MSE, multivariate, with masks', async (t) => {
  let seed = 500
  for (const variant of MODEL_VARIANTS) {
    seed++
    const config = modelConfig({ ...variant, head: 'last_step', inputSize: 2, outputSize: 2 })
    await t.test(describeModel(config), async (t) => {
      const model = new SequenceModel(config)
      model.init(new Rng(seed))
      const rng = new Rng(seed + 1000)
      const input: LayerInput = { kind: 'dense', data: randomArray(rng, T * B * 2) }
      checkModel(t, model, input, { kind: 'values', targets: randomArray(rng, B * 2) }, seed)
    })
  }
})

t.test('classification: last_step head + cross-entropy over one-hot ids, with masks', async (t) => {
  let seed = 600
  for (const variant of MODEL_VARIANTS) {
    seed++
    const config = modelConfig({ ...variant, head: 'last_step', inputSize: 6, oneHot: true, outputSize: 3 })
    await t.test(describeModel(config), async (t) => {
      const model = new SequenceModel(config)
      model.init(new Rng(seed))
      checkModel(t, model, oneHotInputs(6, seed).ids, { kind: 'classes', targets: Int32Array.from([2, 0, 1]) }, seed)
    })
  }
})

t.test('every_step head + cross-entropy, padded steps ignored (target -1)', async (t) => {
  let seed = 700
  for (const variant of MODEL_VARIANTS) {
    seed++
    const config = modelConfig({ ...variant, head: 'every_step', inputSize: 6, oneHot: true, outputSize: 4 })
    await t.test(describeModel(config), async (t) => {
      const model = new SequenceModel(config)
      model.init(new Rng(seed))
      const rng = new Rng(seed + 1000)
      const targets = new Int32Array(T * B)
      for (let tt = 0; tt < T; tt++) for (let b = 0; b < B; b++) targets[tt * B + b] = tt < LENGTHS[b] ? rng.int(4) : -1
      checkModel(t, model, oneHotInputs(6, seed).ids, { kind: 'classes', targets }, seed)
    })
  }
})
