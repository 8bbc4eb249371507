import t from 'tap'
import * as ort from 'onnxruntime-node'
import { SequenceModel } from '../../src/engine/model.js'
import { Rng } from '../../src/engine/rng.js'
import type { ModelSpec } from '../../src/engine/tasks/spec.js'
import type { TaskMeta } from '../../src/engine/tasks/task.js'
import { ExportUnsupportedError, exportOnnx } from '../../src/models/formats/onnx.js'
import type { TapTest } from '../helpers/server.js'
import { describeSpec, randomModel, type TestModel } from './helpers.js'

/**
 * The ONNX export runs in onnxruntime (a third-party runtime reading our protobuf) and must
 * compute what the engine computes: |diff| <= 1e-5 for every output.
 */
const TOLERANCE = 1e-5
const B = 3
const T = 7

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]))
  return m
}

/** Batch-first float32 input; one-hot rows for character models. */
function randomInput(m: TestModel, rng: Rng): { onnx: Float32Array; timeMajor: Float64Array } {
  const F = m.model.inputSize
  const onnx = new Float32Array(B * T * F)
  for (let b = 0; b < B; b++) {
    for (let s = 0; s < T; s++) {
      const row = (b * T + s) * F
      if (m.model.oneHot) onnx[row + Math.floor(rng.next() * F)] = 1
      else for (let f = 0; f < F; f++) onnx[row + f] = rng.uniform(-2, 2)
    }
  }
  const timeMajor = new Float64Array(T * B * F)
  for (let b = 0; b < B; b++) for (let s = 0; s < T; s++) for (let f = 0; f < F; f++) timeMajor[(s * B + b) * F + f] = onnx[(b * T + s) * F + f]
  return { onnx, timeMajor }
}

async function compare(t: TapTest, kind: TaskMeta['kind'], spec: Partial<ModelSpec>, state: boolean, seed: number): Promise<void> {
  const m = randomModel(kind, spec, seed)
  const bytes = exportOnnx(m, { state, producerVersion: 'test', metadata: { card: '{}' } })
  const session = await ort.InferenceSession.create(bytes)
  const rng = new Rng(seed + 1000)
  const x = randomInput(m, rng)
  const engine = new SequenceModel(m.model)
  engine.params.data.set(m.params)
  const sizes = engine.stateSizes
  const h0 = state ? new Float32Array(sizes.h * B).map(() => rng.uniform(-1, 1)) : null
  const c0 = state && sizes.c > 0 ? new Float32Array(sizes.c * B).map(() => rng.uniform(-1, 1)) : null
  const expected = engine.forward({
    T, B, input: { kind: 'dense', data: x.timeMajor }, lengths: null,
    h0: h0 && Float64Array.from(h0), c0: c0 && Float64Array.from(c0), training: false, rng: null,
  })
  const L = m.model.numLayers * (m.model.bidirectional ? 2 : 1)
  const H = m.model.hiddenSize
  const feeds: Record<string, ort.Tensor> = { input: new ort.Tensor('float32', x.onnx, [B, T, m.model.inputSize]) }
  if (h0) feeds.h0 = new ort.Tensor('float32', h0, [L, B, H])
  if (c0) feeds.c0 = new ort.Tensor('float32', c0, [L, B, H])
  const result = await session.run(feeds)
  const outName = kind === 'series' ? 'forecast' : 'logits'
  t.same([...session.outputNames].sort(), [outName, ...(state ? ['h_n', ...(c0 ? ['c_n'] : [])] : [])].sort(), 'output names')
  const out = result[outName]
  const O = m.model.outputSize
  let want: Float64Array | Float32Array
  if (m.model.head === 'every_step') {
    t.same(out.dims, [B, T, O], `${outName} is [batch, seq, ${O}]`)
    want = new Float64Array(B * T * O)
    for (let b = 0; b < B; b++) for (let s = 0; s < T; s++) for (let o = 0; o < O; o++) want[(b * T + s) * O + o] = expected[(s * B + b) * O + o]
  } else {
    t.same(out.dims, [B, O], `${outName} is [batch, ${O}]`)
    want = expected.slice(0, B * O)
  }
  const diff = maxDiff(out.data as Float32Array, want)
  t.ok(diff <= TOLERANCE, `${outName}: max |onnxruntime - engine| = ${diff.toExponential(2)}`)
  if (state) {
    const dh = maxDiff(result.h_n.data as Float32Array, engine.rnn.hN.subarray(0, L * B * H))
    t.ok(dh <= TOLERANCE, `h_n: max diff ${dh.toExponential(2)}`)
    if (c0) {
      const dc = maxDiff(result.c_n.data as Float32Array, engine.rnn.cN.subarray(0, L * B * H))
      t.ok(dc <= TOLERANCE, `c_n: max diff ${dc.toExponential(2)}`)
    }
  }
}

const ARCHITECTURES: Partial<ModelSpec>[] = [
  { type: 'rnn' },
  { type: 'rnn', nonlinearity: 'relu', num_layers: 2 },
  { type: 'lstm' },
  { type: 'gru' },
  { type: 'lstm', num_layers: 2, bidirectional: true },
  { type: 'gru', num_layers: 3, bidirectional: true },
  { type: 'rnn', bidirectional: true },
]
const KINDS: TaskMeta['kind'][] = ['pairs', 'text', 'classes', 'series']

let seed = 1
for (const kind of KINDS) {
  for (const spec of ARCHITECTURES) {
    const s = seed++
    t.test(`${describeSpec(kind, spec)} matches the engine in onnxruntime`, (t) => compare(t, kind, spec, false, s))
  }
}

for (const spec of ARCHITECTURES) {
  const s = seed++
  t.test(`${describeSpec('text', spec)} with h0/c0 in and h_n/c_n out`, (t) => compare(t, 'text', spec, true, s))
}

t.test('batch and seq axes are dynamic: one export runs any batch and length', async (t) => {
  const m = randomModel('classes', { type: 'gru', bidirectional: true }, 77)
  const session = await ort.InferenceSession.create(exportOnnx(m, { state: false, producerVersion: 'test', metadata: {} }))
  for (const [b, s] of [[1, 1], [5, 13]]) {
    const r = await session.run({ input: new ort.Tensor('float32', new Float32Array(b * s * m.model.inputSize).fill(0.25), [b, s, m.model.inputSize]) })
    t.same(r.logits.dims, [b, 3], `batch ${b}, seq ${s}`)
  }
})

t.test('an LSTM with proj_size cannot be exported and says why', async (t) => {
  const m = randomModel('pairs', { type: 'lstm', hidden_size: 6, proj_size: 3 }, 5)
  t.throws(() => exportOnnx(m, { state: false, producerVersion: 'test', metadata: {} }), ExportUnsupportedError)
  t.throws(() => exportOnnx(m, { state: false, producerVersion: 'test', metadata: {} }), /proj_size=3.*no projection/)
})
