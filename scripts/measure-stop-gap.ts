/**
 * `npx tsx scripts/measure-stop-gap.ts [--kernels js|wasm] [--precision float32|float64] [--mode lstm|gru|rnn_tanh]
 *   [--hidden 256] [--seq 128] [--batch 512] [--vocab 80]`: how long a stop can wait inside one
 * training step. Times one step (a character model: one-hot input, one layer, head on every
 * step) whose interrupt check records when it is polled, and prints the step's time, the
 * number of polls and the longest stretch without one (start and end of the step included):
 * a cancel or shutdown waits at most that long for the step to stop. One JSON line.
 */
import { createBackend } from '../src/engine/backend/select.js'
import { isDtype, isKernelSetName } from '../src/engine/backend/types.js'
import { SequenceModel } from '../src/engine/model.js'
import { createOptimizer } from '../src/engine/optimizers.js'
import { Rng } from '../src/engine/rng.js'
import { LossWorkspace, trainStep } from '../src/engine/train-step.js'

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback
}

const kernels = option('kernels', 'js')
const dtype = option('precision', 'float64')
const mode = option('mode', 'lstm') as 'lstm' | 'gru' | 'rnn_tanh'
const H = Number(option('hidden', '256'))
const T = Number(option('seq', '128'))
const B = Number(option('batch', '512'))
const V = Number(option('vocab', '80'))
if (!isKernelSetName(kernels) || !isDtype(dtype)) throw new Error('--kernels js|wasm, --precision float32|float64')

const backend = createBackend(dtype, kernels)
const model = new SequenceModel({
  mode, inputSize: V, oneHot: true, hiddenSize: H, numLayers: 1, bidirectional: false, projSize: 0, dropout: 0, outputSize: V, head: 'every_step',
}, backend)
const rng = new Rng(1)
model.init(rng)
const ids = Int32Array.from({ length: T * B }, () => rng.int(V))
const targets = Int32Array.from({ length: T * B }, () => rng.int(V))
const optimizer = createOptimizer('adam', model.params.size, { lr: 0.001 }, backend)
const workspace = new LossWorkspace()
const batch = { T, B, input: { kind: 'ids' as const, ids }, lengths: null, h0: null, c0: null, training: true, rng }

function step(record: number[] | null): void {
  const stopFlag = new Int32Array(new SharedArrayBuffer(4))
  const check = record ? () => (record.push(performance.now()), Atomics.load(stopFlag, 0) !== 0) : null
  trainStep(model, batch, { kind: 'classes', targets }, optimizer, null, workspace, undefined, check)
}

step(null) // allocates the workspaces and warms up
const polls: number[] = []
const start = performance.now()
step(polls)
const end = performance.now()
const marks = [start, ...polls, end]
let maxGap = 0
let at = 0
for (let i = 1; i < marks.length; i++) {
  if (marks[i] - marks[i - 1] > maxGap) {
    maxGap = marks[i] - marks[i - 1]
    at = i
  }
}
console.log(JSON.stringify({
  kernels, precision: dtype, mode, hidden: H, seq_len: T, batch: B, vocabulary: V,
  step_ms: Math.round(end - start), polls: polls.length, max_gap_ms: Math.round(maxGap * 10) / 10,
  max_gap_after_poll: at - 1, median_gap_ms: Math.round(median(marks.slice(1).map((m, i) => m - marks[i])) * 100) / 100,
}))

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}
