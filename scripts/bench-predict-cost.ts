/**
 * Calibrates PREDICT_MAX_COST: times single-row predictions of models of many shapes on this
 * machine and prints, per shape, the estimated cost (src/serving/admission.ts), the seconds it
 * took and the cost units per second. The default budget is the slowest rate x ~1 s, so that
 * any admitted request (whatever the model) stays under about a second of one core.
 *
 * Both precisions are timed (trained checkpoints are float32 by default, imports float64),
 * on the kernels a worker uses, and each shape is timed --repeat times (default 3) keeping
 * the fastest: on a shared machine other processes only ever make a run slower, so the
 * fastest run is the closest to the machine's own speed. Run it on an idle machine.
 *
 * Then it sends the most expensive request the budget admits of every kind (pairs, text,
 * classes, series; one row as GET /predict sends, and MAX_PREDICT_BATCH rows as a batched
 * POST) to a few model shapes, sized by the service's own admission (prepareRows +
 * estimate, PREDICT_MAX_MEMORY_BYTES and the request limits included), and times each on the
 * path a worker runs (runRows): the budget is right when the slowest of them takes ~1 s.
 *
 *   npm run bench:predict-cost [-- --budget 750000000 --repeat 3]
 */
import os from 'node:os'
import { createBackend } from '../src/engine/backend/select.js'
import type { Dtype } from '../src/engine/backend/types.js'
import { BatchPredictor } from '../src/engine/tasks/batch-predictor.js'
import { modelConfigFor } from '../src/engine/tasks/task.js'
import type { ModelSpec } from '../src/engine/tasks/spec.js'
import type { TaskMeta } from '../src/engine/tasks/task.js'
import { SequenceModel } from '../src/engine/model.js'
import { Rng } from '../src/engine/rng.js'
import { costModel, estimate } from '../src/serving/admission.js'
import { loadConfig, PREDICT_MAX_COST_DEFAULT } from '../src/config.js'
import { mostExpensiveAdmitted } from './predict-cost-requests.js'

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : fallback
}
const budget = arg('budget', PREDICT_MAX_COST_DEFAULT)
const repeat = arg('repeat', 3)
const loadBefore = os.loadavg()

const VOCAB = [...'abcdefghijklmnopqrstuvwxyz .,;']
const meta: TaskMeta = { kind: 'text', vocab: VOCAB, seq_len: 32 }

function predictor(spec: ModelSpec, dtype: Dtype): BatchPredictor {
  const config = modelConfigFor(meta, spec)
  const model = new SequenceModel(config, createBackend(dtype))
  model.init(new Rng(1))
  return new BatchPredictor({ meta, model: config, params: Float64Array.from(model.params.data), dtype })
}

const shapes: ModelSpec[] = []
for (const type of ['rnn', 'gru', 'lstm'] as const) {
  for (const [hidden, layers] of [[32, 1], [128, 1], [256, 2], [512, 2], [1024, 1], [1024, 2]] as const) {
    shapes.push({ type, hidden_size: hidden, num_layers: layers, bidirectional: false, dropout: 0, nonlinearity: 'tanh', proj_size: 0 })
  }
}

const rows: { model: string; dtype: Dtype; steps: number; cost: number; seconds: number; unitsPerSecond: number; budgetSeconds: number }[] = []
for (const spec of shapes) for (const dtype of ['float32', 'float64'] as const) {
  const p = predictor(spec, dtype)
  const cost = costModel(p.model.config)
  // Enough steps for ~0.3 s: warm up once, then time.
  const perStep = cost.stepCost + cost.headCost
  const length = Math.max(20, Math.min(20_000, Math.round(3e8 / perStep)))
  const prompt = 'the quick brown fox'
  const options = [{ length, temperature: 1, topK: 0, seed: 1 }]
  p.generate([prompt], [{ ...options[0], length: Math.min(length, 50) }])
  let seconds = Number.POSITIVE_INFINITY
  for (let r = 0; r < repeat; r++) {
    const started = performance.now()
    p.generate([prompt], options)
    seconds = Math.min(seconds, (performance.now() - started) / 1000)
  }
  const units = estimate(cost, [{ steps: prompt.length + length - 1, promptSteps: prompt.length, heads: prompt.length + length - 1 }]).cost
  const rate = units / seconds
  rows.push({ model: `${spec.type} ${spec.hidden_size}x${spec.num_layers}`, dtype, steps: prompt.length + length - 1, cost: units, seconds, unitsPerSecond: rate, budgetSeconds: budget / rate })
}

console.log(JSON.stringify({ budget, repeat, loadavgBefore: loadBefore, loadavgAfter: os.loadavg(), rows }, null, 2))
console.log('\n| model | dtype | steps | est. cost | seconds | units/s | budget takes (s) |\n|---|---|---|---|---|---|---|')
for (const r of rows) console.log(`| ${r.model} | ${r.dtype} | ${r.steps} | ${(r.cost / 1e6).toFixed(0)}e6 | ${r.seconds.toFixed(3)} | ${(r.unitsPerSecond / 1e9).toFixed(2)}e9 | ${r.budgetSeconds.toFixed(2)} |`)
const slowest = rows.reduce((a, b) => (a.unitsPerSecond < b.unitsPerSecond ? a : b))
console.log(`\nslowest: ${slowest.model} ${slowest.dtype} at ${(slowest.unitsPerSecond / 1e9).toFixed(2)}e9 units/s: the budget of ${budget} takes ${slowest.budgetSeconds.toFixed(2)} s there`)
console.log(`a budget of ~1 s on the slowest shape: ${Math.round(slowest.unitsPerSecond / 1e6) * 1e6} (PREDICT_MAX_COST); load average before ${loadBefore.map((l) => l.toFixed(1)).join(', ')}, after ${os.loadavg().map((l) => l.toFixed(1)).join(', ')}`)

// The most expensive admitted request of every kind, timed.
const config = loadConfig({ ...process.env, PREDICT_MAX_COST: String(budget) })
const requests = mostExpensiveAdmitted(config, repeat)
console.log('\n| kind | request | model | dtype | rows x size | est. cost | seconds |\n|---|---|---|---|---|---|---|')
for (const r of requests) console.log(`| ${r.kind} | ${r.request} | ${r.model} | ${r.dtype} | ${r.rows} x ${r.size} | ${(r.cost / 1e6).toFixed(0)}e6 | ${r.seconds.toFixed(3)} |`)
const longest = requests.reduce((a, b) => (a.seconds > b.seconds ? a : b))
console.log(`\nthe most expensive admitted request took ${longest.seconds.toFixed(2)} s (${longest.kind} ${longest.request}, ${longest.model} ${longest.dtype}); load average after ${os.loadavg().map((l) => l.toFixed(1)).join(', ')}`)
