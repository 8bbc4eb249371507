import type { FastifyError, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import {
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
    app.setErrorHandler((error: FastifyError, request, reply) => {
      const response = toErrorBody(error, request)
      if (response.statusCode >= 500 && !isAppError(error)) {
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
