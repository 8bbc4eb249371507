import { Type } from 'typebox'
import type { Limits } from '../../config.js'
import { ERROR_CATALOGUE, type ErrorCode } from '../errors.js'
import { MEDIA_TYPES, RESPONSE_HEADERS, StrictObject, defaultWithin, errorCodesOf } from '../schemas/common.js'
import { errorExample } from '../schemas/error-examples.js'

/**
 * KServe V2 / Open Inference Protocol (REST) shapes. Request objects are closed like every
 * other request of the API, except the maps the protocol leaves open (per-tensor
 * `parameters`).
 */

/** The protocol's error body, plus our catalogue code: the one exception to the API's error shape. */
export const V2Error = Type.Object({
  error: Type.String({ description: 'What went wrong and what to fix' }),
  code: Type.String({ description: 'The error code from the API catalogue (`predict_too_costly`, `model_not_found`, ...)' }),
}, { examples: [{ error: 'No model is named "greeter" (a model appears when a job of that name succeeds or a version is imported)', code: 'model_not_found' }] })

const V2_ERROR_HEADERS: Record<number, Record<string, unknown>> = {
  401: { 'WWW-Authenticate': RESPONSE_HEADERS['WWW-Authenticate'] },
  403: { 'WWW-Authenticate': RESPONSE_HEADERS['WWW-Authenticate'] },
  429: { 'Retry-After': RESPONSE_HEADERS['Retry-After'] },
  503: { 'Retry-After': RESPONSE_HEADERS['Retry-After'] },
}

/** The codes a /v2 route can answer, by status (the rest of the catalogue is for /jobs). */
const V2_CODES: ErrorCode[] = [
  'validation_failed', 'unknown_field', 'invalid_json', 'unknown_characters', 'invalid_input', 'limit_exceeded', 'predict_too_costly',
  'unauthorized', 'forbidden', 'not_found', 'model_not_found', 'version_not_found', 'alias_not_found', 'job_not_succeeded', 'payload_too_large', 'unsupported_media_type',
  'rate_limited', 'service_unavailable', 'overloaded', 'predict_timeout',
]

/** One named error response in the protocol's shape, with an example per code the routes answer with that status. */
function v2ErrorResponse(status: number) {
  const codes = errorCodesOf(status).filter((code) => V2_CODES.includes(code))
  const examples = Object.fromEntries(codes.map((code: ErrorCode) => [code, { summary: ERROR_CATALOGUE[code].message, value: { error: errorExample(code).message, code } }]))
  return {
    description: `Open Inference Protocol error: ${codes.map((code) => `\`${code}\``).join(', ')}`,
    ...(V2_ERROR_HEADERS[status] ? { headers: V2_ERROR_HEADERS[status] } : {}),
    content: { [MEDIA_TYPES.json]: { schema: V2Error, examples } },
  }
}

/** `{ 400: ..., 404: ... }` error responses in the protocol's shape for a route's schema. */
export function v2ErrorResponses(...statuses: number[]): Record<number, ReturnType<typeof v2ErrorResponse>> {
  return Object.fromEntries(statuses.map((status) => [status, v2ErrorResponse(status)]))
}

const OpenParameters = Type.Record(Type.String(), Type.Unknown(), { description: 'Protocol parameters; accepted and ignored' })

export const ServerMetadata = Type.Object({
  name: Type.String(),
  version: Type.String(),
  extensions: Type.Array(Type.String()),
}, { examples: [{ name: 'seqserve', version: '0.1.0', extensions: [] }] })

export const LiveResponse = Type.Object({ live: Type.Boolean() })
export const ReadyResponse = Type.Object({ ready: Type.Boolean() })
export const ModelReadyResponse = Type.Object({ name: Type.String(), ready: Type.Boolean() })

const TensorMetadata = Type.Object({
  name: Type.String(),
  datatype: Type.String(),
  shape: Type.Array(Type.Integer(), { description: '-1 = any size' }),
})

export const ModelMetadata = Type.Object({
  name: Type.String(),
  versions: Type.Array(Type.String(), { description: 'The version that serves the name: its registry version number (the job id for a job that is no version)' }),
  platform: Type.String({ description: 'seqserve_<task>_<cell>, e.g. seqserve_text_lstm' }),
  inputs: Type.Array(TensorMetadata),
  outputs: Type.Array(TensorMetadata),
  parameters: Type.Optional(Type.Object({
    task: Type.String(),
    labels: Type.Optional(Type.Array(Type.String(), { description: 'classes: the order of the probabilities' })),
  })),
}, {
  examples: [{
    name: 'greeter', versions: ['2'], platform: 'seqserve_pairs_rnn',
    inputs: [{ name: 'input', datatype: 'BYTES', shape: [-1] }], outputs: [{ name: 'output', datatype: 'BYTES', shape: [-1] }],
    parameters: { task: 'pairs' },
  }],
})

export const ModelParams = StrictObject({
  name: Type.String({ minLength: 1, maxLength: 166, description: 'NAME: the highest version of the model; NAME@ALIAS: the version the alias points to (GET /models)' }),
})
export const ModelVersionParams = StrictObject({
  name: Type.String({ minLength: 1, maxLength: 166 }),
  version: Type.String({ minLength: 1, maxLength: 100, description: 'A registry version number of the model, or the id of a succeeded job with that name' }),
})

export function inferRequest(limits: Limits) {
  return StrictObject({
    id: Type.Optional(Type.String({ maxLength: 200, description: 'Echoed in the response' })),
    parameters: Type.Optional(StrictObject({
      length: Type.Optional(Type.Integer({ minimum: 1, maximum: limits.maxPredictLength, description: `text: characters to generate (default ${defaultWithin(100, limits.maxPredictLength)})` })),
      temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 10, description: 'text: 0 = greedy (default 1)' })),
      top_k: Type.Optional(Type.Integer({ minimum: 0, maximum: 100000, description: 'text: sample among the k most likely characters (0 = all)' })),
      seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 4294967295, description: 'text: row i uses seed + i (random when absent; the response says which)' })),
      horizon: Type.Optional(Type.Integer({ minimum: 1, maximum: limits.maxPredictLength, description: "series: values to forecast (default: the job's data.horizon)" })),
    })),
    inputs: Type.Array(StrictObject({
      name: Type.String({ description: 'Must be "input"' }),
      shape: Type.Array(Type.Integer({ minimum: 0 }), { minItems: 1, maxItems: 3 }),
      datatype: Type.String({ description: 'BYTES (pairs, text, classes: one string per row) or FP32/FP64 (series: [batch, steps, features], [steps] or [batch, steps])' }),
      data: Type.Array(Type.Unknown(), { description: 'Row-major, flat or nested' }),
      parameters: Type.Optional(OpenParameters),
    }), { minItems: 1, maxItems: 1 }),
    outputs: Type.Optional(Type.Array(StrictObject({
      name: Type.String(),
      parameters: Type.Optional(OpenParameters),
    }), { description: 'Outputs to return (default: all)' })),
  }, {
    examples: [{ id: 'req-1', inputs: [{ name: 'input', shape: [2], datatype: 'BYTES', data: ['hello', 'hell'] }] }],
  })
}

const OutputTensor = Type.Object({
  name: Type.String(),
  datatype: Type.String(),
  shape: Type.Array(Type.Integer()),
  data: Type.Array(Type.Union([Type.String(), Type.Number()]), { description: 'Row-major, flat' }),
})

export const InferResponse = Type.Object({
  model_name: Type.String(),
  model_version: Type.String({ description: 'The registry version number that served the request (the job id for a job that is no version)' }),
  id: Type.Optional(Type.String()),
  parameters: Type.Optional(Type.Object({ seed: Type.Optional(Type.Integer({ description: 'text: the seed of row 0; row i used seed + i' })) })),
  outputs: Type.Array(OutputTensor),
}, {
  examples: [{
    model_name: 'greeter', model_version: '2', id: 'req-1',
    outputs: [{ name: 'output', datatype: 'BYTES', shape: [2], data: ['elloh', 'ello'] }],
  }],
})
