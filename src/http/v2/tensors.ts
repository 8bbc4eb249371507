import type { TaskMeta } from '../../engine/tasks/task.js'
import type { PredictInput, PredictionResult } from '../../serving/prediction.js'
import { httpError } from '../errors.js'

/** Open Inference Protocol tensors <-> seqserve prediction inputs and results. */

export interface InputTensor {
  name: string
  shape: number[]
  datatype: string
  data: unknown[]
}

export interface OutputTensor {
  name: string
  datatype: string
  shape: number[]
  data: (string | number)[]
}

export interface TensorMetadata {
  name: string
  datatype: string
  shape: number[]
}

function invalid(message: string) {
  return httpError('invalid_input', message)
}

function flatten(data: unknown[]): unknown[] {
  return data.some(Array.isArray) ? (data as unknown[]).flat(Infinity) : data
}

/** The rows of the one input tensor, checked against its shape and the model's task. */
export function inputsFromTensor(tensor: InputTensor, meta: TaskMeta, maxBatch: number): PredictInput[] {
  if (tensor.name !== 'input') throw invalid(`inputs[0].name is ${JSON.stringify(tensor.name)}; this model reads one tensor named "input"`)
  const values = flatten(tensor.data)
  const size = tensor.shape.reduce((n, d) => n * d, 1)
  if (size !== values.length) throw invalid(`inputs[0].shape ${JSON.stringify(tensor.shape)} holds ${size} values but data has ${values.length}`)
  let rows: PredictInput[]
  if (meta.kind === 'series') {
    if (tensor.datatype !== 'FP32' && tensor.datatype !== 'FP64') throw invalid(`a series model reads FP32 or FP64 tensors, not ${tensor.datatype}`)
    if (!values.every((v) => typeof v === 'number' && Number.isFinite(v))) throw invalid('inputs[0].data must hold finite numbers')
    const numbers = values as number[]
    const [a, b = 1, c = 1] = tensor.shape
    const [batch, steps, features] = tensor.shape.length === 1 ? [1, a, 1] : tensor.shape.length === 2 ? [a, b, 1] : [a, b, c]
    rows = Array.from({ length: batch }, (_, i) => Array.from({ length: steps }, (_, t) => numbers.slice((i * steps + t) * features, (i * steps + t + 1) * features)))
  } else {
    if (tensor.datatype !== 'BYTES') throw invalid(`a ${meta.kind} model reads BYTES tensors (one string per row), not ${tensor.datatype}`)
    if (!values.every((v) => typeof v === 'string')) throw invalid('inputs[0].data must hold strings')
    if (tensor.shape.length > 2 || (tensor.shape.length === 2 && tensor.shape[1] !== 1)) throw invalid(`a BYTES input has shape [batch] or [batch, 1], not ${JSON.stringify(tensor.shape)}`)
    rows = values as string[]
  }
  if (rows.length === 0) throw invalid('inputs[0] has no rows')
  if (rows.length > maxBatch) throw httpError('limit_exceeded', `inputs[0] has ${rows.length} rows; at most ${maxBatch} per request (MAX_PREDICT_BATCH)`)
  return rows
}

/** What the model returns, as tensor metadata (-1: any size). */
export function outputMetadata(meta: TaskMeta): TensorMetadata[] {
  switch (meta.kind) {
    case 'pairs':
    case 'text':
      return [{ name: 'output', datatype: 'BYTES', shape: [-1] }]
    case 'classes':
      return [{ name: 'label', datatype: 'BYTES', shape: [-1] }, { name: 'probabilities', datatype: 'FP64', shape: [-1, meta.labels.length] }]
    case 'series':
      return [{ name: 'forecast', datatype: 'FP64', shape: [-1, meta.horizon, meta.features] }]
  }
}

export function inputMetadata(meta: TaskMeta): TensorMetadata[] {
  return [meta.kind === 'series' ? { name: 'input', datatype: 'FP64', shape: [-1, -1, meta.features] } : { name: 'input', datatype: 'BYTES', shape: [-1] }]
}

/** The results as output tensors, limited to the requested names (all when none are given). */
export function outputTensors(meta: TaskMeta, results: PredictionResult[], requested: string[] | undefined): OutputTensor[] {
  const B = results.length
  let tensors: OutputTensor[]
  switch (meta.kind) {
    case 'pairs':
    case 'text':
      tensors = [{ name: 'output', datatype: 'BYTES', shape: [B], data: results.map((r) => r.output as string) }]
      break
    case 'classes':
      tensors = [
        { name: 'label', datatype: 'BYTES', shape: [B], data: results.map((r) => r.label!) },
        { name: 'probabilities', datatype: 'FP64', shape: [B, meta.labels.length], data: results.flatMap((r) => meta.labels.map((label) => r.probabilities![label])) },
      ]
      break
    case 'series': {
      const forecasts = results.map((r) => (meta.multivariate ? (r.output as number[][]) : (r.output as number[]).map((v) => [v])))
      const horizon = forecasts[0]?.length ?? 0
      tensors = [{ name: 'forecast', datatype: 'FP64', shape: [B, horizon, meta.features], data: forecasts.flat(2) }]
    }
  }
  if (!requested) return tensors
  const known = tensors.map((tensor) => tensor.name)
  const unknown = requested.filter((name) => !known.includes(name))
  if (unknown.length > 0) throw invalid(`unknown output ${unknown.map((n) => JSON.stringify(n)).join(', ')}; this model has ${known.map((n) => JSON.stringify(n)).join(', ')}`)
  return tensors.filter((tensor) => requested.includes(tensor.name))
}
