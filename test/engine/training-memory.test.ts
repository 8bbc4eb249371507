/**
 * The working-memory estimate that picks a job's kernel set at submission, held to the memory
 * the wasm backend really hands out over a training run (warm-up, epochs, validation), for
 * every kind of layer, head and input; and the choice it drives.
 */
import t from 'tap'
import { WasmBackend } from '../../src/engine/backend/wasm.js'
import type { JobSpec, ModelSpec, TrainingSpec } from '../../src/engine/tasks/spec.js'
import { Trainer } from '../../src/engine/tasks/trainer.js'
import {
  TrainingMemoryError, WASM_JOB_LIMIT_BYTES, type TrainingMemory, chooseTrainingKernels, trainingMemory,
} from '../../src/engine/tasks/training-memory.js'
import { ServedModel } from '../../src/engine/tasks/served-model.js'
import { WasmMemoryLimitError } from '../../src/engine/backend/wasm.js'

const training = (over: Partial<TrainingSpec> = {}): TrainingSpec => ({
  epochs: 2, optimizer: 'adam', learning_rate: 0.01, batch_size: 5, seed: 1, clip_grad_norm: 1, validation_split: 0.2,
  checkpoint_every: 1, max_runtime_seconds: 60, carry_hidden: false, shuffle: true, weight_decay: 0, momentum: 0, ...over,
})
const model = (over: Partial<ModelSpec>): ModelSpec => ({
  type: 'lstm', hidden_size: 16, num_layers: 1, bidirectional: false, dropout: 0, nonlinearity: 'tanh', proj_size: 0, ...over,
})
const words = ['a', 'bb', 'the cat', 'a longer sentence', 'x', 'yy', 'seqserve', 'hello world!', 'ok', 'abcdefghijklmnopqrstuvwxyz', 'q']

const cases: [string, JobSpec][] = [
  ['lstm text, stateful streams with carried state, sgd with momentum', {
    model: model({ type: 'lstm', hidden_size: 24 }),
    data: { type: 'text', text: 'the quick brown fox jumps over the lazy dog. '.repeat(20), seq_len: 17 },
    training: training({ batch_size: 7, carry_hidden: true, shuffle: false, optimizer: 'sgd', momentum: 0.9 }),
  }],
  ['gru pairs of unequal length (padding), 2 layers with dropout, bidirectional', {
    model: model({ type: 'gru', hidden_size: 12, num_layers: 2, dropout: 0.2, bidirectional: true }),
    data: { type: 'pairs', pairs: words.map((w) => ({ input: w, target: [...w].reverse().join('') })) },
    training: training({ batch_size: 4 }),
  }],
  ['lstm with proj_size classifying (last-step head), carried state per batch, rmsprop', {
    model: model({ type: 'lstm', hidden_size: 20, proj_size: 6, num_layers: 2 }),
    data: { type: 'classes', examples: words.map((w, i) => ({ input: w, label: i % 2 ? 'odd' : 'even' })) },
    training: training({ batch_size: 3, carry_hidden: true, optimizer: 'rmsprop', momentum: 0.5 }),
  }],
  ['rnn forecasting a multivariate series (dense input)', {
    model: model({ type: 'rnn', hidden_size: 10, num_layers: 3 }),
    data: { type: 'series', series: Array.from({ length: 90 }, (_, i) => [Math.sin(i / 5), Math.cos(i / 7)]), window: 9, horizon: 1 },
    training: training({ batch_size: 16, optimizer: 'adagrad' }),
  }],
  ['gru on a vocabulary larger than the batch rows (one-hot columns read in place)', {
    model: model({ type: 'gru', hidden_size: 8 }),
    data: { type: 'classes', examples: [{ input: 'abcdefghijklmnopqrstuvwxyz0123456789', label: 'a' }, { input: 'z', label: 'b' }] },
    training: training({ batch_size: 2, validation_split: 0 }),
  }],
]

for (const dtype of ['float32', 'float64'] as const) {
  for (const [name, job] of cases) {
    t.test(`${dtype}: ${name}: the estimate is what the wasm memory holds after training`, async (t) => {
      const spec: JobSpec = { ...job, model: { ...job.model, dtype } }
      const trainer = new Trainer(spec, undefined, 'wasm')
      const backend = trainer.model.params.backend
      t.ok(backend instanceof WasmBackend)
      const estimate = trainingMemory(trainer.task, spec.training, dtype)
      const afterWarmUp = (backend as WasmBackend).used
      while (!trainer.done) trainer.runEpoch()
      const used = (backend as WasmBackend).used
      if (!spec.training.carry_hidden) t.equal(used, afterWarmUp, 'training allocates nothing after the warm-up pass (carried state aside)')
      t.ok(estimate.wasm >= used, `estimate ${estimate.wasm} >= used ${used}`)
      // The only slack is the kernels module's static data (estimated at 16 KiB, 7 KiB today).
      t.ok(estimate.wasm - used <= 16 * 1024, `estimate ${estimate.wasm} is within 16 KiB of used ${used}`)
    })
  }
}

t.test('the estimate grows with the batch: T x B workspaces dominate a large job', async (t) => {
  const text = 'abcdefghij'.repeat(200)
  const at = (batch_size: number) => {
    const spec: JobSpec = { model: model({ hidden_size: 64, dtype: 'float32' }), data: { type: 'text', text, seq_len: 50 }, training: training({ batch_size, validation_split: 0 }) }
    return trainingMemory(new Trainer(spec, undefined, 'js').task, spec.training, 'float32')
  }
  const small = at(4)
  const large = at(32)
  t.equal(large.B, 32)
  t.equal(large.T, 50)
  t.ok(large.wasm > 4 * small.wasm, `${large.wasm} vs ${small.wasm}`)
})

const memory = (wasm: number, js = wasm): TrainingMemory => ({ wasm, js, T: 1000, B: 2000 })

t.test('kernel choice: wasm below the limit, js beyond it, refused beyond both (with the numbers)', async (t) => {
  const jsLimit = 16 * 2 ** 30
  t.equal(chooseTrainingKernels(memory(2 ** 30), undefined, jsLimit), undefined, 'fits: the worker\'s default kernel set')
  t.equal(chooseTrainingKernels(memory(2 ** 30), 'wasm', jsLimit), 'wasm')
  t.equal(chooseTrainingKernels(memory(2 ** 30), 'js', jsLimit), 'js')
  t.equal(chooseTrainingKernels(memory(WASM_JOB_LIMIT_BYTES), undefined, jsLimit), undefined, 'exactly at the limit still fits')
  t.equal(chooseTrainingKernels(memory(WASM_JOB_LIMIT_BYTES + 1), undefined, jsLimit), 'js', 'beyond 4 GiB less the headroom: the JavaScript kernels')
  t.throws(() => chooseTrainingKernels(memory(5 * 2 ** 30), 'wasm', jsLimit), { name: 'TrainingMemoryError', message: /5120 MiB of WebAssembly memory for batches of up to 2000 sequences x 1000 steps, more than the 4032 MiB/ })
  const err = t.throws(() => chooseTrainingKernels(memory(40 * 2 ** 30), undefined, jsLimit)) as Error
  t.ok(err instanceof TrainingMemoryError)
  t.match(err.message, /about 40960 MiB of working memory .* more than the 16384 MiB a job may use \(MAX_TRAINING_MEMORY_BYTES\) and the 4032 MiB the wasm kernels can hold; lower training.batch_size/)
  t.throws(() => chooseTrainingKernels(memory(2 ** 30, 2 ** 30), 'js', 2 ** 29), TrainingMemoryError, 'an explicit js job beyond the limit is refused too')
})

t.test('serving: a request that hits the WebAssembly limit leaves a fresh instance, not one grown to the limit', async (t) => {
  const trainer = new Trainer(cases[0][1], undefined, 'wasm')
  const served = new ServedModel(trainer.checkpoint(), 'wasm')
  const before = served.model
  t.throws(() => served.run(() => {
    served.model.params.backend.floats(2 ** 24)
    throw new WasmMemoryLimitError(2 ** 33)
  }), WasmMemoryLimitError)
  t.not(served.model, before, 'the instance was replaced')
  t.same(Array.from(served.model.params.data), Array.from(before.params.data), 'with the same weights')
  t.equal(served.run(() => 7), 7)
})

t.test('a job whose spec names a kernel set trains on it, whatever the process default', async (t) => {
  const [, job] = cases[0]
  const trainer = new Trainer({ ...job, model: { ...job.model, kernels: 'js' } }, undefined, 'wasm')
  t.equal(trainer.model.params.backend.kernels, 'js')
  t.equal(trainer.checkpoint().kernels, 'js', 'and its checkpoints record it')
})
