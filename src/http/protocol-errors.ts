import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { reasonPhrase, type ErrorBody, type ErrorCode } from './errors.js'

/**
 * Answers written before a request reaches the app, in the one error shape
 * `{ statusCode, code, error, message }`. Without these, Node's HTTP parser and fastify's
 * router answer with their own bodies: `{"error":"Bad Request","message":"Client Error"}`
 * without a `code`, `"code":"FST_ERR_BAD_URL"`, a 414 that calls itself "Bad Request", and
 * a 417 with no body at all (found by test/http/fuzz.test.ts).
 *
 * buildApp wires them (none of them can be installed from a plugin):
 *   Fastify({ ..., clientErrorHandler, frameworkErrors })
 *   app.server.on('checkExpectation', answerUnknownExpectation)
 *
 * No hook runs for these requests, so the answers carry no request id or security headers.
 */

function errorBody(statusCode: number, message: string, code: ErrorCode = 'bad_request'): ErrorBody {
  return { statusCode, code, error: reasonPhrase(statusCode), message }
}

function rawResponse(statusCode: number, message: string): string {
  const json = JSON.stringify(errorBody(statusCode, message))
  return `HTTP/1.1 ${statusCode} ${reasonPhrase(statusCode)}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`
}

type ConnectionError = Error & { code?: string; reason?: string }

/** Fastify `clientErrorHandler`: bytes Node's HTTP parser rejects (bad request line, header, framing). */
export function clientErrorHandler(error: ConnectionError, socket: Socket): void {
  // A reset connection has nobody left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  let response: string
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') response = rawResponse(408, 'The request did not arrive in time')
  else if (error.code === 'HPE_HEADER_OVERFLOW') response = rawResponse(431, 'The request line and headers are larger than the server accepts')
  else {
    // llhttp's reasons are fixed phrases ("Invalid header value char"), never request bytes.
    const reason = typeof error.reason === 'string' ? `: ${error.reason}` : ''
    response = rawResponse(400, `The request is not valid HTTP/1.1${reason}`)
  }
  if (socket.writable) socket.write(response)
  socket.destroy(error)
}

/** Fastify `frameworkErrors`: URLs the router cannot route (bad percent-escapes, over-long parameters). */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const statusCode = error.statusCode ?? 500
  const body =
    statusCode >= 500 ? errorBody(500, 'Internal server error', 'internal') // FST_ERR_ASYNC_CONSTRAINT: not the client's fault
    : error.code === 'FST_ERR_BAD_URL' ? errorBody(statusCode, 'The URL has an invalid percent-encoding')
    : error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? errorBody(statusCode, 'A path parameter in the URL is too long')
    : errorBody(statusCode, 'The URL cannot be routed')
  void reply.code(body.statusCode).type('application/json; charset=utf-8').send(body)
}

/** http.Server 'checkExpectation': an `Expect` other than 100-continue, which Node answers with a bare 417. */
export function answerUnknownExpectation(_request: IncomingMessage, response: ServerResponse): void {
  const json = JSON.stringify(errorBody(417, 'Only "Expect: 100-continue" is supported'))
  response.writeHead(417, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(json), connection: 'close' })
  response.end(json)
}
