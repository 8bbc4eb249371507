import type { SequenceModelConfig } from '../engine/model.js'
import type { TaskMeta } from '../engine/tasks/task.js'
import { Vocabulary } from '../engine/tasks/vocabulary.js'
import type { InferenceOutputs, InferenceRows } from '../pool/inference-protocol.js'
import { type CostModel, type RowShape, costModel } from './admission.js'
import { ServingError } from './errors.js'

export type PredictInput = string | number[] | number[][]

export interface PredictOptions {
  length: number
  temperature: number
  top_k: number
  seed?: number
  horizon?: number
}

export interface PredictionResult {
  input: PredictInput
  output: string | number[] | number[][]
  label?: string
  probabilities?: Record<string, number>
  seed?: number
}

/** What the main thread knows of a model: its checkpoint header, never its weights. */
export interface ServedModel {
  jobId: string
  name: string
  meta: TaskMeta
  config: SequenceModelConfig
  vocab: Vocabulary | null
  cost: CostModel
  parameterCount: number
}

export function servedModel(jobId: string, name: string, header: { meta: TaskMeta; model: SequenceModelConfig; parameterCount: number }): ServedModel {
  const vocab = 'vocab' in header.meta ? new Vocabulary(header.meta.vocab) : null
  return { jobId, name, meta: header.meta, config: header.model, vocab, cost: costModel(header.model), parameterCount: header.parameterCount }
}

function invalid(message: string): ServingError {
  return new ServingError('invalid_input', message)
}

/** "1,2,3" -> [[1],[2],[3]]; "1,2;3,4" -> [[1,2],[3,4]] (rows of a multivariate series). */
export function parseSeriesText(text: string): number[][] {
  const rows = text.includes(';') ? text.split(';').map((r) => r.split(',')) : text.split(',').map((v) => [v])
  return rows.map((row, i) => row.map((v, j) => {
    const trimmed = v.trim()
    const n = Number(trimmed)
    if (trimmed === '' || !Number.isFinite(n)) throw invalid(`input value ${JSON.stringify(trimmed)} at position ${text.includes(';') ? `${i + 1}.${j + 1}` : i + 1} is not a number`)
    return n
  }))
}

function seriesRows(input: PredictInput, features: number): number[][] {
  const rows = typeof input === 'string' ? parseSeriesText(input) : input.map((v) => (Array.isArray(v) ? v : [v]))
  if (rows.length === 0) throw invalid('input has no values')
  rows.forEach((row, i) => {
    if (row.length !== features) throw invalid(`input row ${i + 1} has ${row.length} values; this model reads ${features} per step`)
  })
  return rows
}

/** Checks a string against the model's vocabulary; returns its length in characters. */
function characters(model: ServedModel, input: PredictInput, what: string): number {
  if (typeof input !== 'string') throw invalid(`this ${model.meta.kind} model takes strings, not numbers`)
  const unknown = model.vocab!.unknown(input)
  if (unknown.length > 0) {
    throw new ServingError('unknown_characters', `input has characters the model never saw: ${unknown.map((c) => JSON.stringify(c)).join(', ')}`, { characters: unknown })
  }
  const length = [...input].length
  if (length === 0 && what !== '') throw invalid(`the ${what} must contain at least one character`)
  return length
}

/** Rows ready for a worker, their shapes for admission, and the seed of every text row. */
export interface PreparedRows {
  rows: InferenceRows
  shapes: RowShape[]
  seeds: number[] | null
}

/**
 * Validates inputs against the model's task on the main thread (so a bad input is a 400 at
 * once, before any queueing) and turns them into worker rows. Text row i uses `seed + i`
 * when `seedStep` is 1 (POST /predict), a random seed when none is given.
 */
export function prepareRows(model: ServedModel, inputs: readonly PredictInput[], options: PredictOptions): PreparedRows {
  const meta = model.meta
  switch (meta.kind) {
    case 'series': {
      const histories = inputs.map((input) => seriesRows(input, meta.features))
      const horizon = options.horizon ?? meta.horizon
      const shapes = histories.map((h) => {
        let steps = 0
        for (let s = 0; s < horizon; s++) steps += Math.min(meta.window, h.length + s)
        return { steps, promptSteps: Math.min(meta.window, h.length), heads: horizon }
      })
      return { rows: { kind: 'series', histories, horizons: histories.map(() => horizon) }, shapes, seeds: null }
    }
    case 'pairs': {
      const lengths = inputs.map((input) => characters(model, input, ''))
      return { rows: { kind: 'pairs', inputs: inputs as string[] }, shapes: lengths.map((n) => ({ steps: n, promptSteps: n, heads: n })), seeds: null }
    }
    case 'classes': {
      const lengths = inputs.map((input) => characters(model, input, 'input'))
      return { rows: { kind: 'classes', inputs: inputs as string[] }, shapes: lengths.map((n) => ({ steps: n, promptSteps: n, heads: 1 })), seeds: null }
    }
    case 'text': {
      const lengths = inputs.map((input) => characters(model, input, 'prompt'))
      const seeds = inputs.map((_, i) => options.seed === undefined ? Math.floor(Math.random() * 2 ** 32) : (options.seed + i) >>> 0)
      const generate = seeds.map((seed) => ({ length: options.length, temperature: options.temperature, topK: options.top_k, seed }))
      const shapes = lengths.map((n) => ({ steps: n + options.length - 1, promptSteps: n, heads: n + options.length - 1 }))
      return { rows: { kind: 'text', prompts: inputs as string[], options: generate }, shapes, seeds }
    }
  }
}

/** The API's view of a batch's outputs, one result per input. */
export function presentOutputs(model: ServedModel, inputs: readonly PredictInput[], outputs: InferenceOutputs, seeds: number[] | null): PredictionResult[] {
  switch (outputs.kind) {
    case 'pairs':
      return outputs.outputs.map((output, i) => ({ input: inputs[i], output }))
    case 'text':
      return outputs.outputs.map((output, i) => ({ input: inputs[i], output, seed: seeds![i] }))
    case 'classes': {
      const labels = (model.meta as { labels: string[] }).labels
      return outputs.probabilities.map((p, i) => {
        let best = 0
        for (let j = 1; j < labels.length; j++) if (p[j] > p[best]) best = j
        // fromEntries defines own properties, so labels like "__proto__" are kept as labels.
        const probabilities: Record<string, number> = Object.fromEntries(labels.map((label, j) => [label, p[j]]))
        return { input: inputs[i], output: labels[best], label: labels[best], probabilities }
      })
    }
    case 'series': {
      const multivariate = (model.meta as { multivariate: boolean }).multivariate
      return outputs.forecasts.map((forecast, i) => {
        // Values far outside the training data (1e308) overflow the network to NaN/Infinity,
        // which JSON cannot carry: that is a bad input for this model, not a server fault.
        if (forecast.some((row) => row.some((value) => !Number.isFinite(value)))) {
          throw invalid('the forecast is not a finite number: the input values are too far outside the range of the data this model was trained on')
        }
        return { input: inputs[i], output: multivariate ? forecast : forecast.map((r) => r[0]) }
      })
    }
  }
}
