import { Type } from 'typebox'
import type { Limits } from '../../config.js'
import { defaultWithin, Nullable, StrictObject } from './common.js'

const JobSelector = {
  job: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Job id' })),
  model: Type.Optional(Type.String({ minLength: 1, maxLength: 166, description: 'NAME: the highest version of the model; NAME@ALIAS: the version the alias points to (GET /models)' })),
  version: Type.Optional(Type.Integer({ minimum: 1, maximum: 2147483647, description: 'With model=NAME: this version' })),
}

function samplingOptions(limits: Limits) {
  return {
    length: Type.Integer({ minimum: 1, maximum: limits.maxPredictLength, default: defaultWithin(100, limits.maxPredictLength), description: 'text: characters to generate' }),
    temperature: Type.Number({ minimum: 0, maximum: 10, default: 1, description: 'text: 0 = greedy (argmax), higher = more random' }),
    top_k: Type.Integer({ minimum: 0, maximum: 100000, default: 0, description: 'text: sample among the k most likely characters (0 = all)' }),
    seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 4294967295, description: 'text: same seed, same text (random when absent; the response says which)' })),
    horizon: Type.Optional(Type.Integer({ minimum: 1, maximum: limits.maxPredictLength, description: "series: values to forecast (default: the job's data.horizon)" })),
  }
}

export function predictQuery(limits: Limits) {
  return StrictObject({
    ...JobSelector,
    input: Type.String({ minLength: 1, maxLength: limits.maxSeqLen * 64, description: 'pairs/classes: the sequence; text: the prompt; series: comma-separated numbers (rows separated by ";" for a multivariate series)', examples: ['hello'] }),
    ...samplingOptions(limits),
  })
}

export function predictBody(limits: Limits) {
  return StrictObject({
    ...JobSelector,
    inputs: Type.Array(Type.Union([
      Type.String({ minLength: 1 }),
      Type.Array(Type.Number()),
      Type.Array(Type.Array(Type.Number())),
    ]), { minItems: 1, maxItems: limits.maxPredictBatch, description: 'Strings, or numeric arrays for a series model (rows of numbers for a multivariate one)' }),
    ...samplingOptions(limits),
  }, { examples: [{ job: '4f6c1c8e-5c1b-4b55-9a55-5a6c1f0f2b7a', inputs: ['hello', 'hell'] }] })
}

const Output = Type.Union([Type.String(), Type.Array(Type.Number()), Type.Array(Type.Array(Type.Number()))], {
  description: 'pairs: the mapped string; text: the generated continuation; series: the forecast; classes: the label',
})

export const Prediction = Type.Object({
  input: Type.Union([Type.String(), Type.Array(Type.Number()), Type.Array(Type.Array(Type.Number()))]),
  output: Output,
  label: Type.Optional(Type.String()),
  probabilities: Type.Optional(Type.Record(Type.String(), Type.Number(), { description: 'classes: every label\'s probability (they sum to 1)' })),
  seed: Type.Optional(Type.Integer({ description: 'text: the seed used' })),
})

const PredictionMeta = {
  job: Type.String({ description: 'The job holding the weights that served' }),
  model: Type.String({ description: 'The model (the job\'s name)' }),
  version: Nullable(Type.Integer(), { description: 'The model version that served (null for a job that is no version, e.g. before the registry existed)' }),
  alias: Nullable(Type.String(), { description: 'The alias the request named, or null' }),
  task: Type.Enum(['pairs', 'text', 'series', 'classes']),
}

export const PredictResponse = Type.Object({ ...PredictionMeta, ...Prediction.properties }, {
  examples: [{ job: '4f6c1c8e-5c1b-4b55-9a55-5a6c1f0f2b7a', model: 'greeter', version: 2, alias: 'production', task: 'pairs', input: 'hello', output: 'elloh' }],
})

export const PredictBatchResponse = Type.Object({ ...PredictionMeta, predictions: Type.Array(Prediction) })

