import { STATUS_CODES } from 'node:http'

/**
 * The one catalogue of error codes the API returns. Every error response is
 * `{ statusCode, code, error, message, details? }` with `code` from this table.
 *
 * Codes are lowercase snake_case, the same convention as a job's own failure codes
 * (`stalled`, `nan_loss`, `max_runtime_exceeded`), so clients see one style everywhere.
 * The `message` here is the default; throw sites usually pass a specific one.
 */
export const ERROR_CATALOGUE = {
  validation_failed: { statusCode: 400, message: 'The request is invalid' },
  unknown_field: { statusCode: 400, message: 'The request contains an unknown field' },
  invalid_json: { statusCode: 400, message: 'The request body is not valid JSON' },
  invalid_cursor: { statusCode: 400, message: 'The pagination cursor is invalid' },
  unknown_characters: {
    statusCode: 400,
    message: "The input contains characters outside the model's vocabulary",
  },
  invalid_data: { statusCode: 400, message: 'The training data cannot train this model' },
  invalid_input: { statusCode: 400, message: 'The prediction input does not fit the model' },
  limit_exceeded: { statusCode: 400, message: 'The request exceeds a configured limit' },
  predict_too_costly: { statusCode: 400, message: 'The prediction would cost more than the configured budget' },
  bad_request: { statusCode: 400, message: 'The request is malformed' },
  invalid_model: { statusCode: 400, message: 'The imported card or weights do not define a model seqserve can serve' },
  init_from_mismatch: { statusCode: 400, message: 'The model of training.init_from does not match the job (architecture, task, vocabulary, labels or features)' },
  model_too_large: { statusCode: 400, message: 'The model is too large to checkpoint or to train; make it smaller' },
  unauthorized: { statusCode: 401, message: 'A valid API key is required' },
  forbidden: { statusCode: 403, message: 'The API key lacks the scope for this operation' },
  not_found: { statusCode: 404, message: 'No such route' },
  job_not_found: { statusCode: 404, message: 'No such job' },
  model_not_found: { statusCode: 404, message: 'No model with that name' },
  version_not_found: { statusCode: 404, message: 'The model has no such version' },
  alias_not_found: { statusCode: 404, message: 'The model has no such alias' },
  method_not_allowed: { statusCode: 405, message: 'Method not allowed' },
  job_not_succeeded: { statusCode: 409, message: 'The job has not succeeded' },
  job_active: { statusCode: 409, message: 'The job is still queued or running' },
  job_finished: { statusCode: 409, message: 'The job has already finished' },
  export_unsupported: { statusCode: 409, message: 'This model cannot be exported in that format' },
  version_aliased: { statusCode: 409, message: 'An alias points to this model version' },
  version_not_imported: { statusCode: 409, message: 'Only imported versions are deleted here; delete trained ones with their job' },
  payload_too_large: { statusCode: 413, message: 'The request body is too large' },
  unsupported_media_type: {
    statusCode: 415,
    message: 'Unsupported content type; send application/json',
  },
  idempotency_mismatch: {
    statusCode: 422,
    message: 'The Idempotency-Key was already used with a different request body',
  },
  rate_limited: { statusCode: 429, message: 'Too many requests; retry later' },
  internal: { statusCode: 500, message: 'Internal server error' },
  service_unavailable: {
    statusCode: 503,
    message: 'The service is temporarily unavailable; retry later',
  },
  queue_full: { statusCode: 503, message: 'The job queue is full; retry later' },
  overloaded: { statusCode: 503, message: 'The prediction queue is full; retry later' },
  storage_unavailable: { statusCode: 503, message: 'The database cannot be used right now; retry later' },
  storage_full: { statusCode: 507, message: 'The database is out of disk space; retry later' },
  predict_timeout: { statusCode: 504, message: 'The prediction did not finish within PREDICT_TIMEOUT_MS' },
} as const satisfies Record<string, { statusCode: number; message: string }>

export type ErrorCode = keyof typeof ERROR_CATALOGUE

/**
 * The codes a failed job's own `error.code` carries (GET /jobs/{id}), with what each means and
 * what to do. The job's `error.message` gives the specifics (epoch, sizes, the database's error).
 */
export const JOB_ERROR_CATALOGUE = {
  invalid_data: 'The training data cannot train this model; fix the data and submit again',
  nan_loss: 'The loss became NaN or infinite; lower training.learning_rate or set training.clip_grad_norm',
  max_runtime_exceeded: 'Training ran past training.max_runtime_seconds; the last checkpoint is kept',
  training_error: 'Training threw an error on every allowed attempt (see the server log)',
  init_from_missing: 'The model version training.init_from named was deleted before the job started; submit it again from an existing version',
  stalled: "The job's worker was lost (process killed, lease lapsed) on every allowed attempt without saving a newer checkpoint",
  checkpoint_too_large: 'A checkpoint was too large for the database; train a smaller model',
  storage_full: "The database's disk was full while saving progress; free space and submit again",
  storage_error: 'Saving progress kept failing for another reason (see the message and the server log); submit again once the database is healthy',
} as const

export type JobErrorCode = keyof typeof JOB_ERROR_CATALOGUE

export const ERROR_CODES = Object.keys(ERROR_CATALOGUE) as ErrorCode[]

/** HTTP reason phrase for a status code ("Not Found"), used as the `error` field. */
export function reasonPhrase(statusCode: number): string {
  return STATUS_CODES[statusCode] ?? 'Error'
}

/** The JSON body of every error response. */
export interface ErrorBody {
  statusCode: number
  code: ErrorCode
  error: string
  message: string
  details?: unknown
}

/**
 * An error meant for the client: its status comes from the catalogue and its message is
 * always shown (even for 5xx codes such as `queue_full`), so write it for API users.
 */
export class AppError extends Error {
  readonly code: ErrorCode
  readonly statusCode: number
  readonly details: unknown

  constructor(code: ErrorCode, message?: string, details?: unknown) {
    super(message ?? ERROR_CATALOGUE[code].message)
    this.name = 'AppError'
    this.code = code
    this.statusCode = ERROR_CATALOGUE[code].statusCode
    this.details = details
  }

  toBody(): ErrorBody {
    const body: ErrorBody = {
      statusCode: this.statusCode,
      code: this.code,
      error: reasonPhrase(this.statusCode),
      message: this.message,
    }
    if (this.details !== undefined) body.details = this.details
    return body
  }
}

/** `throw httpError('job_not_found', \`No job with id ${id}\`)` */
export function httpError(code: ErrorCode, message?: string, details?: unknown): AppError {
  return new AppError(code, message, details)
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError
}
