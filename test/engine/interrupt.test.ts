/**
 * The cooperative stop of a training step (src/engine/interrupt.ts), on every engine (both
 * precisions, both kernel sets) and every recurrent mode: the check is polled every time step
 * of the forward and backward sweeps; whichever poll stops the step, it throws
 * StepInterruptedError before the update and leaves parameters, optimizer state and RNG with
 * the bits they had before it, so training on gives exactly the uninterrupted run; the long
 * products polled in pieces compute the bits of one call.
 */
import t from 'tap'
import { createBackend } from '../../src/engine/backend/select.js'
import { type Backend, DTYPES, type Floats, type Gemm, KERNEL_SETS } from '../../src/engine/backend/types.js'
import { type Interrupt, POLL_WORK, StepInterruptedError } from '../../src/engine/interrupt.js'
import { type ModelBatch, SequenceModel, type SequenceModelConfig } from '../../src/engine/model.js'
import { type Optimizer, createOptimizer } from '../../src/engine/optimizers.js'
import type { RecurrentMode } from '../../src/engine/recurrent/config.js'
import { Rng } from '../../src/engine/rng.js'
import { Trainer } from '../../src/engine/tasks/trainer.js'
import { encodeCheckpoint, decodeCheckpoint } from '../../src/engine/tasks/checkpoint.js'
import { type BatchTargets, LossWorkspace, trainStep } from '../../src/engine/train-step.js'
import { lstmTextJob } from '../helpers/job-specs.js'

const MODES: RecurrentMode[] = ['rnn_tanh', 'lstm', 'gru']
const ENGINES = DTYPES.flatMap((dtype) => KERNEL_SETS.map((kernels) => ({ dtype, kernels })))

/** A check that counts its polls and asks to stop at poll number `stopAt` (never when 0). */
function countingCheck(stopAt = 0): Interrupt & { polls: number } {
  const check = Object.assign(() => ++check.polls === stopAt, { polls: 0 })
  return check
}

const V = 7
const F = 3
const L = 2
const D = 2

/**
 * Two bidirectional layers with dropout between them, inputs of unequal lengths: one-hot with a
 * head on every step (a character model), or dense with a head on the last step (a forecast; the
 * LSTM with a projection).
 */
function model(mode: RecurrentMode, dense: boolean, backend: Backend): SequenceModel {
  const config: SequenceModelConfig = {
    mode, inputSize: dense ? F : V, oneHot: !dense, hiddenSize: 6, numLayers: L, bidirectional: D === 2, projSize: dense && mode === 'lstm' ? 4 : 0,
    dropout: 0.25, outputSize: dense ? 2 : V, head: dense ? 'last_step' : 'every_step',
  }
  const m = new SequenceModel(config, backend)
  m.init(new Rng(11))
  return m
}

function batch(T: number, seed: number, rng: Rng, dense: boolean): { batch: ModelBatch; targets: BatchTargets } {
  const B = 3
  const data = new Rng(seed)
  const lengths = Int32Array.from({ length: B }, (_, b) => (b === 0 ? T : Math.max(1, T - b)))
  if (dense) {
    const values = Float64Array.from({ length: T * B * F }, () => data.normal())
    const targets = Float64Array.from({ length: B * 2 }, () => data.normal())
    return { batch: { T, B, input: { kind: 'dense', data: values }, lengths, h0: null, c0: null, training: true, rng }, targets: { kind: 'values', targets } }
  }
  const ids = new Int32Array(T * B)
  const targets = new Int32Array(T * B)
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      ids[t * B + b] = t < lengths[b] ? data.int(V) : -1
      targets[t * B + b] = t < lengths[b] ? data.int(V) : -100
    }
  }
  return { batch: { T, B, input: { kind: 'ids', ids }, lengths, h0: null, c0: null, training: true, rng }, targets: { kind: 'classes', targets } }
}

interface Run {
  dense: boolean
  model: SequenceModel
  optimizer: Optimizer
  rng: Rng
  workspace: LossWorkspace
}

function newRun(mode: RecurrentMode, dense: boolean, backend: Backend): Run {
  const m = model(mode, dense, backend)
  return { dense, model: m, optimizer: createOptimizer('adam', m.params.size, { lr: 0.01 }, m.params.backend), rng: new Rng(5), workspace: new LossWorkspace() }
}

function step(r: Run, T: number, seed: number, interrupt: Interrupt | null = null): number {
  const { batch: b, targets } = batch(T, seed, r.rng, r.dense)
  return trainStep(r.model, b, targets, r.optimizer, 1, r.workspace, undefined, interrupt)
}

/** Everything a step may change that the next step reads: parameters, optimizer moments and step count, the RNG. */
function state(r: Run): { params: number[]; optimizer: Record<string, number[]>; step: number; rng: number[] } {
  const s = r.optimizer.getState()
  return {
    params: Array.from(r.model.params.data),
    optimizer: Object.fromEntries(Object.entries(s.buffers).map(([k, v]) => [k, Array.from(v as Floats)])),
    step: s.step,
    rng: r.rng.getState(),
  }
}

const STEPS = [{ T: 5, seed: 1 }, { T: 6, seed: 2 }, { T: 4, seed: 3 }]

for (const { dtype, kernels } of ENGINES) {
  for (const mode of MODES) for (const dense of [false, true]) {
    t.test(`${mode}, ${dense ? 'dense inputs, last-step head' : 'one-hot inputs, every-step head'}, ${dtype} on the ${kernels} kernels`, async (t) => {
      const run = () => newRun(mode, dense, createBackend(dtype, kernels))

      // Polled every time step: one more step adds one poll per layer and direction forward,
      // the same backward, and one per layer that takes dropout on its input.
      const polls = (T: number) => {
        const r = run()
        const check = countingCheck()
        step(r, T, 1, check)
        return check.polls
      }
      t.equal(polls(9) - polls(8), 2 * L * D + (L - 1), 'every time step polls every layer and direction, forward and backward')

      // The uninterrupted run.
      const straight = run()
      const losses = STEPS.map((s) => step(straight, s.T, s.seed))
      const expected = state(straight)

      // The second step stopped at its k-th poll, for every k it has, then trained on.
      const r0 = run()
      step(r0, STEPS[0].T, STEPS[0].seed)
      const count = countingCheck()
      step(r0, STEPS[1].T, STEPS[1].seed, count)
      const total = count.polls
      t.ok(total > 2 * L * D * STEPS[1].T, `${total} polls in the step`)
      let exact = 0
      for (let k = 1; k <= total; k++) {
        const r = run()
        const first = step(r, STEPS[0].T, STEPS[0].seed)
        const before = state(r)
        const check = countingCheck(k)
        let thrown: unknown = null
        try {
          step(r, STEPS[1].T, STEPS[1].seed, check)
        } catch (err) {
          thrown = err
        }
        if (!(thrown instanceof StepInterruptedError)) {
          t.fail(`poll ${k}: the step did not throw StepInterruptedError (${String(thrown)})`)
          continue
        }
        if (check.polls !== k) t.fail(`poll ${k}: polled ${check.polls} times; it should stop at the poll that asked`)
        t.strictSame(state(r), before, `stopped at poll ${k} of ${total}: parameters, optimizer and RNG as before the step`)
        const rest = [first, step(r, STEPS[1].T, STEPS[1].seed), step(r, STEPS[2].T, STEPS[2].seed)]
        if (rest.every((loss, i) => Object.is(loss, losses[i])) && JSON.stringify(state(r)) === JSON.stringify(expected)) exact++
        else t.fail(`stopped at poll ${k}: training on did not reproduce the uninterrupted run`)
      }
      t.equal(exact, total, 'after a stop at any poll, training on gives the uninterrupted losses and final state bit for bit')
    })
  }
}

/** Products large enough to be computed in several pieces, each engine, each layout. */
t.test('products computed in pieces give the bits of one call, and stop between pieces', async (t) => {
  const shapes: { name: 'gemmNT' | 'gemmNN' | 'gemmTN'; m: number; n: number; k: number }[] = [
    // n·k near POLL_WORK / 16: a few panels of rows per piece.
    { name: 'gemmNT', m: 130, n: 1024, k: 1027 },
    { name: 'gemmNN', m: 130, n: 1027, k: 1024 },
    // k spans several of the JavaScript kernel's panels; m·n large enough for pieces of rows too.
    { name: 'gemmTN', m: 130, n: 1030, k: 600 },
  ]
  for (const { m, n, k } of shapes) t.ok(m * n * k > 4 * POLL_WORK, `${m}x${n}x${k} is several pieces of work`)
  for (const { dtype, kernels } of ENGINES) {
    const backend = createBackend(dtype, kernels)
    for (const { name, m, n, k } of shapes) {
      const rng = new Rng(3)
      const fill = (size: number) => {
        const x = backend.floats(size)
        for (let i = 0; i < size; i++) x[i] = rng.normal()
        return x
      }
      const [rowsA, colsA] = name === 'gemmTN' ? [k, m] : [m, k]
      const [rowsB, colsB] = name === 'gemmNT' ? [n, k] : [k, n]
      const a = fill(rowsA * colsA)
      const b = fill(rowsB * colsB)
      const c0 = fill(m * n)
      const gemm: Gemm = backend[name]
      const once = c0.slice()
      gemm(once, 0, n, a, 0, colsA, b, 0, colsB, m, n, k, true)
      const pieces = backend.floats(m * n)
      pieces.set(c0)
      const check = countingCheck()
      gemm(pieces, 0, n, a, 0, colsA, b, 0, colsB, m, n, k, true, check)
      const label = `${name} ${m}x${n}x${k}, ${dtype} on the ${kernels} kernels`
      t.ok(check.polls >= 2, `${label}: polled ${check.polls} times`)
      t.ok(Array.from(pieces).every((v, i) => Object.is(v, once[i])), `${label}: the same bits as one call`)
      const stopped = backend.floats(m * n)
      t.throws(() => gemm(stopped, 0, n, a, 0, colsA, b, 0, colsB, m, n, k, true, countingCheck(2)), StepInterruptedError, `${label}: a stop ends it`)
    }
  }
})

t.test('the loss over many rows polls too, with the bits of one uninterrupted pass', async (t) => {
  const rows = 10_000
  const classes = 80
  for (const { dtype, kernels } of ENGINES) {
    const backend = createBackend(dtype, kernels)
    const rng = new Rng(9)
    const logits = backend.floats(rows * classes)
    for (let i = 0; i < logits.length; i++) logits[i] = 3 * rng.normal()
    const targets = Int32Array.from({ length: rows }, (_, r) => (r % 97 === 0 ? -100 : rng.int(classes)))
    const grad = backend.floats(rows * classes)
    const loss = backend.crossEntropy(grad, logits, targets, rows, classes)
    const polledGrad = backend.floats(rows * classes)
    const check = countingCheck()
    const polledLoss = backend.crossEntropy(polledGrad, logits, targets, rows, classes, check)
    const label = `${dtype} on the ${kernels} kernels`
    t.ok(Object.is(polledLoss, loss) && Array.from(polledGrad).every((v, i) => Object.is(v, grad[i])), `${label}: the same loss and gradient bits`)
    // The float32 WebAssembly kernel is one fast call; every other engine runs the JavaScript loop.
    if (dtype === 'float32' && kernels === 'wasm') continue
    t.ok(check.polls >= 2, `${label}: polled ${check.polls} times`)
    t.throws(() => backend.crossEntropy(polledGrad, logits, targets, rows, classes, countingCheck(1)), StepInterruptedError, `${label}: a stop ends it`)
  }
})

t.test('a Trainer stopped inside a step returns null, trains no further, and its checkpoint resumes the exact run', async (t) => {
  // Two LSTM layers with dropout between them (the RNG matters), a validation split.
  const { model, data, training } = lstmTextJob('stopped', { seed: 3, epochs: 4, checkpointEvery: 1 })
  const spec = { model, data, training }
  const straight = new Trainer(spec)
  const expected: number[] = []
  while (!straight.done) expected.push(straight.runEpoch()!.loss)

  const first = new Trainer(spec)
  const losses = [first.runEpoch()!.loss, first.runEpoch()!.loss]
  // Stop at the 30th poll of epoch 3: the first poll is the one before its first step, the
  // next ones are inside that step's recurrent sweeps.
  const check = countingCheck(30)
  t.equal(first.runEpoch(check), null, 'the epoch is abandoned')
  t.equal(check.polls, 30, 'at the poll that asked')
  t.equal(first.epoch, 2)
  t.throws(() => first.runEpoch(), /resume from its checkpoint\(\) in a new Trainer/, 'a stopped trainer refuses to train on')
  const resumed = new Trainer(spec, decodeCheckpoint(encodeCheckpoint(first.checkpoint())))
  t.equal(resumed.epoch, 2)
  while (!resumed.done) losses.push(resumed.runEpoch()!.loss)
  t.same(losses, expected, 'the losses of the uninterrupted run')
  t.same(Array.from(resumed.model.params.data), Array.from(straight.model.params.data), 'and its final parameters')

  // The validation pass after the epoch's steps polls too: its last poll is the epoch's last.
  const probe = new Trainer(spec)
  probe.runEpoch()
  probe.runEpoch()
  const all = countingCheck()
  probe.runEpoch(all)
  const late = new Trainer(spec)
  const lateLosses = [late.runEpoch()!.loss, late.runEpoch()!.loss]
  t.equal(late.runEpoch(countingCheck(all.polls)), null, `stopped at the last of the epoch's ${all.polls} polls, in the validation pass`)
  t.equal(late.epoch, 2, 'the epoch is not counted')
  const lateResumed = new Trainer(spec, decodeCheckpoint(encodeCheckpoint(late.checkpoint())))
  while (!lateResumed.done) lateLosses.push(lateResumed.runEpoch()!.loss)
  t.same(lateLosses, expected, 'and resuming gives the uninterrupted losses')

  t.throws(() => new Trainer(spec, undefined, undefined, undefined, countingCheck(3)), StepInterruptedError, 'setting up (one step on zeros) stops too')
})
