/**
 * The engine's backends (kernel set x precision): batched forwards equal unbatched ones bit for
 * bit (what dynamic micro-batching relies on), float32 tracks float64, one WebAssembly memory per
 * instance whose views survive growth and which refuses more than 4 GiB, and the committed
 * WebAssembly module is the compile of its AssemblyScript source.
 */
import { readFileSync } from 'node:fs'
import t from 'tap'
import { compileKernels, kernelsModuleText } from '../../scripts/build-kernels.js'
import { createBackend } from '../../src/engine/backend/select.js'
import type { Backend, Floats } from '../../src/engine/backend/types.js'
import { WasmBackend, WasmMemoryLimitError } from '../../src/engine/backend/wasm.js'
import { type SequenceModelConfig, SequenceModel } from '../../src/engine/model.js'
import { Rng } from '../../src/engine/rng.js'

const BACKENDS = (): Backend[] => [
  createBackend('float64', 'js'), createBackend('float32', 'js'),
  createBackend('float64', 'wasm'), createBackend('float32', 'wasm'),
]

const MODELS: Array<{ name: string; config: SequenceModelConfig }> = [
  { name: 'lstm one-hot', config: { mode: 'lstm', inputSize: 7, oneHot: true, hiddenSize: 10, numLayers: 1, bidirectional: false, projSize: 0, dropout: 0, outputSize: 7, head: 'every_step' } },
  { name: 'lstm 2 layers bidirectional proj dense', config: { mode: 'lstm', inputSize: 3, oneHot: false, hiddenSize: 9, numLayers: 2, bidirectional: true, projSize: 5, dropout: 0, outputSize: 2, head: 'every_step' } },
  { name: 'gru one-hot', config: { mode: 'gru', inputSize: 6, oneHot: true, hiddenSize: 13, numLayers: 2, bidirectional: false, projSize: 0, dropout: 0, outputSize: 6, head: 'every_step' } },
  { name: 'rnn tanh dense bidirectional', config: { mode: 'rnn_tanh', inputSize: 4, oneHot: false, hiddenSize: 8, numLayers: 1, bidirectional: true, projSize: 0, dropout: 0, outputSize: 3, head: 'every_step' } },
]

/** Sequence b of a batch: its length and its values (ids or dense rows). */
function sequences(config: SequenceModelConfig, B: number, T: number, rng: Rng): { lengths: number[]; data: number[][] } {
  const lengths = Array.from({ length: B }, (_, b) => (b === 0 ? T : 1 + Math.floor(rng.next() * T)))
  const width = config.oneHot ? 1 : config.inputSize
  const data = lengths.map((len) => Array.from({ length: len * width }, () => (config.oneHot ? Math.floor(rng.next() * config.inputSize) : rng.uniform(-1, 1))))
  return { lengths, data }
}

/** Time-major logits [T*B x O] of the given sequences forwarded together (padded to the longest). */
function forward(model: SequenceModel, seqs: { lengths: number[]; data: number[][] }): { T: number; B: number; logits: Floats } {
  const B = seqs.lengths.length
  const T = Math.max(...seqs.lengths)
  const c = model.config
  const width = c.oneHot ? 1 : c.inputSize
  const ids = new Int32Array(T * B).fill(-1)
  const dense = new Float64Array(T * B * c.inputSize)
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < seqs.lengths[b]; t++) {
      if (c.oneHot) ids[t * B + b] = seqs.data[b][t]
      else for (let i = 0; i < width; i++) dense[(t * B + b) * width + i] = seqs.data[b][t * width + i]
    }
  }
  const allFull = seqs.lengths.every((l) => l === T)
  const logits = model.forward({
    T, B, input: c.oneHot ? { kind: 'ids', ids } : { kind: 'dense', data: dense },
    lengths: allFull ? null : Int32Array.from(seqs.lengths), h0: null, c0: null, training: false, rng: null,
  })
  return { T, B, logits: logits.slice(0, T * B * c.outputSize) }
}

for (const backend of BACKENDS()) {
  const label = `${backend.kernels} ${backend.dtype}`
  t.test(`${label}: every row of a batched forward equals that sequence forwarded alone, bit for bit`, async (t) => {
    for (const { name, config } of MODELS) {
      const model = new SequenceModel(config, createBackend(backend.dtype, backend.kernels))
      model.init(new Rng(3))
      const rng = new Rng(11)
      // B = 37 crosses the 4-row register blocks and, for one-hot inputs, the gather's transpose switch.
      for (const B of [6, 37]) {
        const seqs = sequences(config, B, 9, rng)
        const batched = forward(model, seqs)
        let mismatches = 0
        let compared = 0
        const O = config.outputSize
        for (let b = 0; b < B; b++) {
          const alone = forward(model, { lengths: [seqs.lengths[b]], data: [seqs.data[b]] })
          for (let s = 0; s < seqs.lengths[b]; s++) {
            for (let j = 0; j < O; j++) {
              compared++
              if (!Object.is(batched.logits[(s * B + b) * O + j], alone.logits[s * O + j])) mismatches++
            }
          }
        }
        t.equal(mismatches, 0, `${name}, B=${B}: ${compared} logits identical`)
      }
    }
  })
}

t.test('float32 tracks float64 on both kernel sets (same weights, same input)', async (t) => {
  const { config } = MODELS[0]
  const reference = new SequenceModel(config, createBackend('float64', 'js'))
  reference.init(new Rng(5))
  const seqs = sequences(config, 4, 12, new Rng(8))
  const want = forward(reference, seqs).logits
  for (const kernels of ['js', 'wasm'] as const) {
    const model = new SequenceModel(config, createBackend('float32', kernels))
    model.params.data.set(reference.params.data)
    const got = forward(model, seqs).logits
    t.ok(got instanceof Float32Array, `${kernels}: float32 logits`)
    let worst = 0
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i])))
    t.ok(worst < 1e-5, `${kernels}: max relative difference ${worst.toExponential(2)} < 1e-5`)
    t.ok(worst > 0, `${kernels}: and it really computed in float32 (difference ${worst.toExponential(2)} is not 0)`)
  }
})

t.test('wasm: one memory per instance; views handed out before a growth keep their values', async (t) => {
  const a = new WasmBackend('float64')
  const b = new WasmBackend('float64')
  t.not(a.memory, b.memory, 'each instance has its own memory')
  const first = a.floats(1000)
  for (let i = 0; i < first.length; i++) first[i] = i + 0.5
  const before = a.bytes
  const big = a.floats(3_000_000)
  t.ok(a.bytes > before, `the memory grew (${before} -> ${a.bytes} bytes)`)
  t.equal(first.length, 1000, 'the old view is still attached')
  t.equal(first[999], 999.5, 'and reads the same memory')
  big[0] = 7
  t.equal(first[0], 0.5, 'new allocations do not overlap old ones')
  t.equal(first.byteOffset % 16, 0, 'vectors are 16-byte aligned for v128 loads')
})

t.test('wasm: more than 4 GiB of working memory is refused with the limit in the message', async (t) => {
  const be = new WasmBackend('float64')
  t.throws(() => be.floats(2 ** 29 + 1), WasmMemoryLimitError)
  t.throws(() => be.floats(2 ** 29 + 1), /4096 MiB/)
  t.ok(be.bytes < 2 ** 20, 'and nothing was grown')
})

t.test('the committed WebAssembly module is the compile of its AssemblyScript source (npm run build:kernels)', async (t) => {
  const committed = readFileSync(new URL('../../src/engine/kernels/wasm/kernels-binary.ts', import.meta.url), 'utf8')
  t.equal(committed, kernelsModuleText(await compileKernels()))
})
