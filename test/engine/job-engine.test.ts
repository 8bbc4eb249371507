/**
 * A job's precision and kernel set: chosen at its start, recorded in every checkpoint, kept by a
 * resume (even when the process default differs), and checkpoints from before they existed still
 * load as what computed them (float64 on the js kernels).
 */
import t from 'tap'
import { type Checkpoint, decodeCheckpoint, encodeCheckpoint } from '../../src/engine/tasks/checkpoint.js'
import { Predictor } from '../../src/engine/tasks/predictor.js'
import type { JobSpec } from '../../src/engine/tasks/spec.js'
import { Trainer } from '../../src/engine/tasks/trainer.js'

const spec = (dtype?: 'float32' | 'float64'): JobSpec => ({
  model: { type: 'lstm', hidden_size: 12, num_layers: 2, bidirectional: false, dropout: 0.1, nonlinearity: 'tanh', proj_size: 0, ...(dtype ? { dtype } : {}) },
  data: { type: 'text', text: 'the quick brown fox jumps over the lazy dog. '.repeat(8), seq_len: 10 },
  training: {
    epochs: 6, optimizer: 'adam', learning_rate: 0.01, batch_size: 4, seed: 3, clip_grad_norm: 1, validation_split: 0.1,
    checkpoint_every: 1, max_runtime_seconds: 60, carry_hidden: false, shuffle: true, weight_decay: 0, momentum: 0,
  },
})

function losses(trainer: Trainer): number[] {
  const out: number[] = []
  while (!trainer.done) out.push(trainer.runEpoch()!.loss)
  return out
}

for (const dtype of ['float32', 'float64'] as const) for (const kernels of ['wasm', 'js'] as const) {
  t.test(`${dtype} on ${kernels}: the checkpoint records both and a resume reproduces the run exactly`, async (t) => {
    const straight = new Trainer(spec(dtype), undefined, kernels)
    t.equal(straight.model.params.backend.dtype, dtype)
    t.equal(straight.model.params.backend.kernels, kernels)
    t.ok(dtype === 'float32' ? straight.model.params.data instanceof Float32Array : straight.model.params.data instanceof Float64Array, 'parameters are stored in the precision')
    const expected = losses(straight)
    const first = new Trainer(spec(dtype), undefined, kernels)
    const got = [first.runEpoch()!.loss, first.runEpoch()!.loss]
    const checkpoint = decodeCheckpoint(encodeCheckpoint(first.checkpoint()))
    t.equal(checkpoint.dtype, dtype)
    t.equal(checkpoint.kernels, kernels)
    // The other kernel set as the process default: the resume must still use the recorded one.
    const resumed = new Trainer(spec(dtype), checkpoint, kernels === 'js' ? 'wasm' : 'js')
    t.equal(resumed.model.params.backend.kernels, kernels, 'the resume keeps the recorded kernel set')
    got.push(...losses(resumed))
    t.same(got, expected, 'identical losses')
    t.same(Array.from(resumed.model.params.data), Array.from(straight.model.params.data), 'identical final weights')
    const predictor = new Predictor(resumed.checkpoint())
    t.equal(predictor.model.params.backend.dtype, dtype, 'serving computes in the job\'s precision')
  })
}

t.test('a job without model.dtype (submitted before it existed) trains in float64', async (t) => {
  t.equal(new Trainer(spec()).model.params.backend.dtype, 'float64')
})

t.test('checkpoints written before dtype and kernels existed load as float64 on the js kernels', async (t) => {
  const trainer = new Trainer(spec('float64'), undefined, 'js')
  trainer.runEpoch()
  const current = trainer.checkpoint()
  // Re-encode without the two fields, as the previous code wrote them.
  const { dtype: _d, kernels: _k, ...old } = current
  const blob = encodeCheckpoint(old as unknown as Checkpoint)
  const header = JSON.parse(new TextDecoder().decode(blob.subarray(8, 8 + new DataView(blob.buffer).getUint32(4, true))))
  t.notOk('dtype' in header || 'kernels' in header, 'the old-style header has neither field')
  const decoded = decodeCheckpoint(blob)
  t.equal(decoded.dtype, 'float64')
  t.equal(decoded.kernels, 'js')
  const resumed = new Trainer(spec('float64'), decoded, 'wasm')
  t.equal(resumed.model.params.backend.kernels, 'js')
  const straight = new Trainer(spec('float64'), undefined, 'js')
  t.same(losses(resumed), losses(straight).slice(1), 'and resumes exactly')
})

t.test('a float32 job follows the float64 run of the same job (same seed, same data)', async (t) => {
  const reference = losses(new Trainer(spec('float64'), undefined, 'js'))
  t.ok(reference.at(-1)! < reference[0], 'the reference run learns')
  for (const kernels of ['wasm', 'js'] as const) {
    const l = losses(new Trainer(spec('float32'), undefined, kernels))
    const worst = Math.max(...l.map((v, i) => Math.abs(v - reference[i]) / reference[i]))
    t.ok(worst < 1e-3, `${kernels}: per-epoch losses within ${worst.toExponential(2)} of float64`)
    t.ok(worst > 0, `${kernels}: and not identical to them (it computed in float32)`)
  }
})

t.test('serving drops an instance whose memory an unusually long request grew, and answers the same', async (t) => {
  const trainer = new Trainer(spec('float32'), undefined, 'wasm')
  trainer.runEpoch()
  const predictor = new Predictor(trainer.checkpoint(), 'wasm')
  const options = { length: 30, temperature: 0, topK: 0, seed: 1 }
  const before = predictor.generate('the quick', options)
  const first = predictor.model
  const startBytes = first.params.backend.bytes
  const longPrompt = 'the lazy dog jumps over the quick brown fox. '.repeat(2000)
  const long = predictor.generate(longPrompt, options)
  t.ok(first.params.backend.bytes > startBytes + 64 * 2 ** 20, `the long prompt grew the memory (${startBytes} -> ${first.params.backend.bytes} bytes)`)
  t.not(predictor.model, first, 'the grown instance was replaced')
  t.ok(predictor.model.params.backend.bytes < first.params.backend.bytes / 4, 'by a small one')
  t.equal(predictor.generate('the quick', options), before, 'answers are unchanged')
  t.equal(new Predictor(trainer.checkpoint(), 'wasm').generate(longPrompt, options), long, 'and the long answer was right')
})
