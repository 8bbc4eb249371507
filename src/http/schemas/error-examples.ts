import { ERROR_CATALOGUE, reasonPhrase, type ErrorBody, type ErrorCode } from '../errors.js'

/**
 * What a real error of each catalogue code looks like, for the examples of /openapi.json.
 * Messages and details follow the throw sites (routes, error handler, auth, rate limits);
 * a code without an entry here is shown with its catalogue message. The contract tests
 * compare these with the errors the server really answers.
 */
const EXAMPLES: Partial<Record<ErrorCode, Pick<ErrorBody, 'message' | 'details'>>> = {
  validation_failed: {
    message: 'body/model/hidden_size must be <= 1024',
    details: { problems: [{ field: 'body/model/hidden_size', message: 'must be <= 1024' }] },
  },
  unknown_field: {
    message: 'body/training has unknown field "epoch"',
    details: { problems: [{ field: 'body/training', message: 'has unknown field "epoch"' }] },
  },
  invalid_json: { message: 'Request body is not valid JSON' },
  invalid_cursor: { message: 'cursor is not a next_cursor value returned by GET /jobs' },
  unknown_characters: { message: 'input has characters the model never saw: "p"', details: { characters: ['p'] } },
  invalid_data: { message: 'data.pairs[0]: input and target must have the same length (5 vs 4)' },
  invalid_input: { message: 'input has 3 values per row; the model was trained on 1' },
  limit_exceeded: { message: 'body/data holds 2000001 characters; the limit is 2000000 (MAX_DATASET_CHARS)' },
  unauthorized: { message: 'An API key is required: send `Authorization: Bearer <key>`' },
  forbidden: { message: 'The API key lacks the jobs:write scope needed for POST /jobs', details: { required_scope: 'jobs:write' } },
  not_found: { message: 'No route for GET /job' },
  job_not_found: { message: 'No job with id 4f6c1c8e-5c1b-4b55-9a55-5a6c1f0f2b7a' },
  model_not_found: { message: 'No model is named "greeter" (a model appears when a job of that name succeeds or a version is imported)' },
  version_not_found: { message: 'Model "greeter" has no version 9 (versions: 1, 2)' },
  alias_not_found: { message: 'Model "greeter" has no alias "staging" (aliases: production)' },
  invalid_model: { message: 'state_dict is missing rnn.weight_ih_l0 (shape [8, 4])', details: { tensor: 'rnn.weight_ih_l0' } },
  export_unsupported: { message: 'this LSTM projects its hidden state (proj_size=3); ONNX\'s LSTM operator has no projection, so no ONNX model computes it exactly. Export safetensors or json instead' },
  version_aliased: { message: 'Version 1 of "greeter" is what greeter@production points to; move the alias (PUT /models/greeter/aliases/{alias}) or delete it first', details: { aliases: ['production'] } },
  version_not_imported: { message: 'Version 1 of "greeter" is job 4f6c1c8e-5c1b-4b55-9a55-5a6c1f0f2b7a; delete it with DELETE /jobs/4f6c1c8e-5c1b-4b55-9a55-5a6c1f0f2b7a' },
  job_not_succeeded: { message: 'Job 4f6c1c8e-5c1b-4b55-9a55-5a6c1f0f2b7a is running; predictions need a succeeded job', details: { status: 'running' } },
  job_active: { message: 'Job 4f6c1c8e-5c1b-4b55-9a55-5a6c1f0f2b7a is still queued or running; cancel it first (POST /jobs/4f6c1c8e-5c1b-4b55-9a55-5a6c1f0f2b7a/cancel)' },
  job_finished: { message: 'Job 4f6c1c8e-5c1b-4b55-9a55-5a6c1f0f2b7a already ended succeeded; there is nothing to cancel' },
  payload_too_large: { message: 'Request body exceeds the limit of 10485760 bytes (MAX_BODY_BYTES)', details: { limit_bytes: 10485760 } },
  unsupported_media_type: { message: 'Content-Type text/plain is not supported; send application/json' },
  idempotency_mismatch: { message: 'Idempotency-Key "order-42" was already used for job 4f6c1c8e-5c1b-4b55-9a55-5a6c1f0f2b7a with a different request body' },
  rate_limited: { message: 'Rate limit of 600 requests per minute to GET/POST /predict exceeded by this API key; retry in 42 s', details: { limit_per_minute: 600 } },
  predict_too_costly: {
    message: 'This prediction is too costly for this model: an estimated cost of 1.21e9 units, over the budget of 750.00e6 (PREDICT_MAX_COST); send a shorter input, a smaller length or horizon, or fewer inputs per request',
    details: { estimated_cost: 1210000000, max_cost: 750000000, estimated_memory_bytes: 1048576, max_memory_bytes: 268435456 },
  },
  overloaded: { message: 'The prediction queue is full (256 requests waiting, PREDICT_QUEUE_LIMIT=256); retry in 1 s', details: { queued: 256, queue_limit: 256 } },
  predict_timeout: { message: 'The prediction did not finish within PREDICT_TIMEOUT_MS; its computation was stopped. Retry later, or send a cheaper request' },
  storage_full: { message: 'The database cannot take this request: the disk holding the database is full (SQLITE_FULL). Nothing was written; retry later' },
  storage_unavailable: { message: 'The database cannot take this request: the database file is damaged (SQLITE_CORRUPT). Nothing was written; retry later' },
  queue_full: { message: 'The job queue is full (1000 jobs queued, MAX_QUEUED_JOBS=1000); retry later', details: { queued: 1000, max_queued_jobs: 1000 } },
}

/** An example error body for a catalogue code, in the exact shape the server sends. */
export function errorExample(code: ErrorCode): ErrorBody {
  const { statusCode } = ERROR_CATALOGUE[code]
  const example = EXAMPLES[code]
  const body: ErrorBody = { statusCode, code, error: reasonPhrase(statusCode), message: example?.message ?? ERROR_CATALOGUE[code].message }
  if (example?.details !== undefined) body.details = example.details
  return body
}
