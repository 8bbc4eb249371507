import type { Predictor } from '../engine/tasks/predictor.js'

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

/** The input cannot be used with this model; the message says why (400 invalid_input). */
export class InvalidInputError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'InvalidInputError'
  }
}

/** "1,2,3" -> [[1],[2],[3]]; "1,2;3,4" -> [[1,2],[3,4]] (rows of a multivariate series). */
export function parseSeriesText(text: string): number[][] {
  const rows = text.includes(';') ? text.split(';').map((r) => r.split(',')) : text.split(',').map((v) => [v])
  return rows.map((row, i) => row.map((v, j) => {
    const trimmed = v.trim()
    const n = Number(trimmed)
    if (trimmed === '' || !Number.isFinite(n)) throw new InvalidInputError(`input value ${JSON.stringify(trimmed)} at position ${text.includes(';') ? `${i + 1}.${j + 1}` : i + 1} is not a number`)
    return n
  }))
}

function seriesRows(input: PredictInput, features: number): number[][] {
  const rows = typeof input === 'string' ? parseSeriesText(input) : input.map((v) => (Array.isArray(v) ? v : [v]))
  rows.forEach((row, i) => {
    if (row.length !== features) throw new InvalidInputError(`input row ${i + 1} has ${row.length} values; this model reads ${features} per step`)
  })
  return rows
}

/** Runs one input through a trained model; validates it against the model's task first. */
export function predict(predictor: Predictor, input: PredictInput, options: PredictOptions): PredictionResult {
  const meta = predictor.meta
  if (meta.kind === 'series') {
    const rows = seriesRows(input, meta.features)
    if (rows.length === 0) throw new InvalidInputError('input has no values')
    const forecast = predictor.forecast(rows, options.horizon ?? meta.horizon)
    // Values far outside the training data (1e308) overflow the network to NaN/Infinity,
    // which JSON cannot carry: that is a bad input for this model, not a server fault.
    if (forecast.some((row) => row.some((value) => !Number.isFinite(value)))) {
      throw new InvalidInputError('the forecast is not a finite number: the input values are too far outside the range of the data this model was trained on')
    }
    return { input, output: meta.multivariate ? forecast : forecast.map((r) => r[0]) }
  }
  if (typeof input !== 'string') throw new InvalidInputError(`this ${meta.kind} model takes strings, not numbers`)
  switch (meta.kind) {
    case 'pairs':
      return { input, output: predictor.mapSequence(input) }
    case 'classes': {
      const { label, probabilities } = predictor.classify(input)
      return { input, output: label, label, probabilities }
    }
    case 'text': {
      const seed = options.seed ?? Math.floor(Math.random() * 2 ** 32)
      const output = predictor.generate(input, { length: options.length, temperature: options.temperature, topK: options.top_k, seed })
      return { input, output, seed }
    }
  }
}
