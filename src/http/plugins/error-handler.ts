import type { FastifyError, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { findCause } from '../../storage/open-errors.js'
import { isStorageFault } from '../../storage/errors.js'
import {
  AppError,
  ERROR_CATALOGUE,
  isAppError,
  reasonPhrase,
  type ErrorBody,
  type ErrorCode,
} from '../errors.js'
import {
  formatValidationErrors,
  summarizeProblems,
  type AjvIssue,
} from '../validation/format-errors.js'

/**
 * The single place where errors become responses. Every error reply has the shape
 * `{ statusCode, code, error, message, details? }` with `code` from the catalogue.
 *
 * - AppError (httpError): shown as thrown.
 * - fastify's own client errors (validation, body size, JSON, content type): translated
 *   into catalogue codes with messages that name the field or the limit.
 * - anything else that is 5xx: logged in full, answered with a generic message, because
 *   internals (SQL, file paths, stack traces) are not for clients.
 */

const MAX_PROBLEMS_IN_DETAILS = 20

const CODE_BY_CLIENT_STATUS: Partial<Record<number, ErrorCode>> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
}

/** Seconds a client waits before retrying after a storage fault: space takes an operator, an outage may pass sooner. */
export const STORAGE_RETRY_AFTER_S = { storage_full: 60, storage_unavailable: 10 } as const

/**
 * A storage fault anywhere in the error's cause chain (disk full, database damaged,
 * read-only or unreachable) as the API's 507 `storage_full` / 503 `storage_unavailable`
 * with Retry-After, never a bare 500; undefined for anything else.
 */
export function storageFaultHttpError(error: unknown): (AppError & { headers: Record<string, string> }) | undefined {
  const fault = findCause(error, (candidate) => (isStorageFault(candidate) ? candidate : undefined))
  if (fault === undefined) return undefined
  const code = fault.code === 'storage_full' ? 'storage_full' : 'storage_unavailable'
  return Object.assign(new AppError(code, fault.message), { headers: { 'retry-after': String(STORAGE_RETRY_AFTER_S[code]) }, cause: fault })
}

function body(code: ErrorCode, message: string, details?: unknown, statusCode?: number): ErrorBody {
  const status = statusCode ?? ERROR_CATALOGUE[code].statusCode
  const result: ErrorBody = { statusCode: status, code, error: reasonPhrase(status), message }
  if (details !== undefined) result.details = details
  return result
}

function validationBody(error: FastifyError): ErrorBody {
  const part = error.validationContext ?? 'request'
  const formatted = formatValidationErrors(part, (error.validation ?? []) as AjvIssue[])
  if (formatted.problems.length === 0) return body('validation_failed', error.message)
  return body(
    formatted.unknownField ? 'unknown_field' : 'validation_failed',
    summarizeProblems(formatted),
    { problems: formatted.problems.slice(0, MAX_PROBLEMS_IN_DETAILS) },
  )
}

function contentTypeOf(request: FastifyRequest): string {
  return request.headers['content-type']?.split(';')[0]?.trim() || '(none)'
}

/** Maps any error to the response body; exported for tests of the mapping itself. */
export function toErrorBody(error: FastifyError, request: FastifyRequest): ErrorBody {
  if (isAppError(error)) return error.toBody()
  if (error.validation) return validationBody(error)

  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE': {
      const limit = request.routeOptions.bodyLimit
      return body(
        'payload_too_large',
        `Request body exceeds the limit of ${limit} bytes (MAX_BODY_BYTES)`,
        { limit_bytes: limit },
      )
    }
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return body(
        'unsupported_media_type',
        `Content-Type ${contentTypeOf(request)} is not supported; send application/json`,
      )
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return body('invalid_json', 'Request body is not valid JSON')
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return body('invalid_json', 'Request body is empty but Content-Type is application/json')
  }

  const status = error.statusCode ?? 500
  if (status >= 400 && status < 500) {
    // fastify and its plugins word 4xx messages for clients (bad URL, rate limit, ...).
    return body(CODE_BY_CLIENT_STATUS[status] ?? 'bad_request', error.message, undefined, status)
  }
  if (status === 503) return body('service_unavailable', ERROR_CATALOGUE.service_unavailable.message)
  return body('internal', ERROR_CATALOGUE.internal.message)
}

export default fp(
  async (app) => {
    app.setErrorHandler((thrown: FastifyError, request, reply) => {
      const fault = storageFaultHttpError(thrown)
      const error = (fault ?? thrown) as FastifyError
      const response = toErrorBody(error, request)
      if (fault !== undefined) {
        // The operator needs the native error (path, code); the client gets the catalogue answer.
        request.log.error({ err: thrown, statusCode: response.statusCode, code: response.code }, 'storage fault')
      } else if (response.statusCode >= 500 && !isAppError(error)) {
        request.log.error({ err: error }, 'request failed')
      } else {
        const level = response.statusCode >= 500 ? 'warn' : 'info'
        request.log[level]({ statusCode: response.statusCode, code: response.code }, response.message)
      }
      // Errors may carry headers meant for the client (e.g. Retry-After, Allow).
      const headers = (error as { headers?: Record<string, string> }).headers
      if (headers) reply.headers(headers)
      return reply.code(response.statusCode).type('application/json; charset=utf-8').send(response)
    })

    app.setNotFoundHandler((request, reply) => {
      const path = request.url.split('?')[0]!.slice(0, 200)
      const response = body('not_found', `No route for ${request.method} ${path}`)
      return reply.code(404).send(response)
    })
  },
  { name: 'seqserve-error-handler' },
)
