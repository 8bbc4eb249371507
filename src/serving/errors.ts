/**
 * Why the serving layer refused or failed a prediction. The codes are the API's error codes
 * (src/http/errors.ts); the HTTP layer turns a ServingError into its response (routes and /v2
 * alike), so services never import HTTP.
 */
export type ServingErrorCode =
  | 'validation_failed'
  | 'job_not_found'
  | 'model_not_found'
  | 'job_not_succeeded'
  | 'invalid_input'
  | 'unknown_characters'
  | 'predict_too_costly'
  | 'overloaded'
  | 'predict_timeout'

export class ServingError extends Error {
  constructor(
    readonly code: ServingErrorCode,
    message: string,
    readonly details?: unknown,
    /** Seconds a client should wait before retrying (503 overloaded). */
    readonly retryAfterS?: number,
  ) {
    super(message)
    this.name = 'ServingError'
  }
}
