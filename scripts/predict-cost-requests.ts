/**
 * The second half of `npm run bench:predict-cost`: the most expensive request the budget
 * admits, of every kind and size of request, timed on the path an inference worker runs.
 * Requests are sized by the service's own admission (prepareRows, estimate, the memory
 * budget) and bounded by the request limits (MAX_SEQ_LEN x 64 characters of input,
 * MAX_PREDICT_LENGTH, MAX_PREDICT_BATCH), as the HTTP schemas bound them.
 */
import type { Config } from '../src/config.js'
import { createBackend } from '../src/engine/backend/select.js'
import type { Dtype } from '../src/engine/backend/types.js'
import { SequenceModel } from '../src/engine/model.js'
import { Rng } from '../src/engine/rng.js'
import { BatchPredictor } from '../src/engine/tasks/batch-predictor.js'
import type { ModelSpec } from '../src/engine/tasks/spec.js'
import { type TaskMeta, modelConfigFor } from '../src/engine/tasks/task.js'
import { estimate, withinBudget } from '../src/serving/admission.js'
import { type PredictInput, type PredictOptions, type ServedModel, prepareRows, servedModel } from '../src/serving/prediction.js'
import { runRows } from '../src/serving/run-rows.js'

export interface TimedRequest {
  kind: TaskMeta['kind']
  /** `GET` (one row) or `POST xN` (a batch of N rows). */
  request: string
  model: string
  dtype: Dtype
  rows: number
  /** What was grown to the budget: characters of input, or characters/values generated. */
  size: string
  cost: number
  seconds: number
}

const VOCAB = [...'abcdefghijklmnopqrstuvwxyz .,;']
const METAS: TaskMeta[] = [
  { kind: 'pairs', vocab: VOCAB },
  { kind: 'text', vocab: VOCAB, seq_len: 32 },
  { kind: 'classes', vocab: VOCAB, labels: ['negative', 'neutral', 'positive'] },
  { kind: 'series', features: 1, multivariate: false, window: 32, horizon: 8, mean: [0], std: [1] },
]
/** A small model (per-step overhead dominates) and a large one (the matrix products do). */
const SHAPES: ModelSpec[] = [
  { type: 'gru', hidden_size: 32, num_layers: 1, bidirectional: false, dropout: 0, nonlinearity: 'tanh', proj_size: 0 },
  { type: 'lstm', hidden_size: 512, num_layers: 2, bidirectional: false, dropout: 0, nonlinearity: 'tanh', proj_size: 0 },
]

/** The largest n in [lo, hi] with admitted(n), or 0 when none is (admission grows with n). */
function largest(lo: number, hi: number, admitted: (n: number) => boolean): number {
  if (!admitted(lo)) return 0
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2)
    if (admitted(mid)) lo = mid
    else hi = mid - 1
  }
  return lo
}

const text = (n: number) => VOCAB.slice(0, 26).join('').repeat(Math.ceil(n / 26)).slice(0, n)

interface Request { inputs: PredictInput[]; options: PredictOptions; size: string }

/** The most expensive request of `rows` rows of `model`'s kind that admission lets through. */
function costliest(model: ServedModel, rows: number, config: Config): Request | null {
  const { limits, serving } = config
  const budget = { maxCost: serving.maxCost, maxMemoryBytes: serving.maxMemoryBytes }
  const base: PredictOptions = { length: 1, temperature: 1, top_k: 0, seed: 1 }
  const admits = (inputs: PredictInput[], options: PredictOptions) => withinBudget(estimate(model.cost, prepareRows(model, inputs, options).shapes), budget)
  const repeat = (input: PredictInput) => Array.from({ length: rows }, () => input)
  const maxInput = limits.maxSeqLen * 64
  switch (model.meta.kind) {
    case 'pairs':
    case 'classes': {
      const n = largest(1, maxInput, (n) => admits(repeat(text(n)), base))
      return n === 0 ? null : { inputs: repeat(text(n)), options: base, size: `${n} chars` }
    }
    case 'text': {
      // Generate as much as allowed, then lengthen the prompt while admission allows.
      const length = largest(1, limits.maxPredictLength, (n) => admits(repeat('a'), { ...base, length: n }))
      if (length === 0) return null
      const options = { ...base, length }
      const prompt = length < limits.maxPredictLength ? 1 : largest(1, maxInput, (n) => admits(repeat(text(n)), options))
      return { inputs: repeat(text(prompt)), options, size: `${prompt}-char prompt + ${length}` }
    }
    case 'series': {
      const history = Array.from({ length: model.meta.window }, (_, i) => Math.sin(i / 3))
      const horizon = largest(1, limits.maxPredictLength, (n) => admits(repeat(history), { ...base, horizon: n }))
      return horizon === 0 ? null : { inputs: repeat(history), options: { ...base, horizon }, size: `horizon ${horizon}` }
    }
  }
}

export function mostExpensiveAdmitted(config: Config, repeat: number): TimedRequest[] {
  const timed: TimedRequest[] = []
  for (const meta of METAS) for (const spec of SHAPES) for (const dtype of ['float32', 'float64'] as const) {
    const modelConfig = modelConfigFor(meta, spec)
    const init = new SequenceModel(modelConfig, createBackend(dtype))
    init.init(new Rng(1))
    const params = Float64Array.from(init.params.data)
    const model = servedModel('bench', 'bench', { meta, model: modelConfig, parameterCount: params.length })
    const predictor = new BatchPredictor({ meta, model: modelConfig, params, dtype })
    // Compile the kernels' JavaScript and WebAssembly paths before anything is timed.
    const warmUp = meta.kind === 'series' ? [Array.from({ length: meta.window }, () => 0)] : ['abc']
    runRows(predictor, prepareRows(model, warmUp, { length: 5, temperature: 1, top_k: 0, seed: 1, horizon: 2 }).rows, Number.POSITIVE_INFINITY)
    for (const rows of [1, config.limits.maxPredictBatch]) {
      const request = costliest(model, rows, config)
      if (!request) continue
      const { rows: prepared, shapes } = prepareRows(model, request.inputs, request.options)
      let seconds = Number.POSITIVE_INFINITY
      for (let r = 0; r < repeat; r++) {
        const started = performance.now()
        runRows(predictor, prepared, Number.POSITIVE_INFINITY)
        seconds = Math.min(seconds, (performance.now() - started) / 1000)
      }
      timed.push({
        kind: meta.kind, request: rows === 1 ? 'GET' : `POST x${rows}`, model: `${spec.type} ${spec.hidden_size}x${spec.num_layers}`, dtype,
        rows, size: request.size, cost: estimate(model.cost, shapes).cost, seconds,
      })
      process.stderr.write(`${meta.kind} ${rows === 1 ? 'GET' : `POST x${rows}`} ${spec.type} ${spec.hidden_size}x${spec.num_layers} ${dtype}: ${request.size}, ${seconds.toFixed(3)} s\n`)
    }
  }
  return timed
}
