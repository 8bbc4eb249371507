import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino'
import type { Config } from './config.js'

export type { Logger } from 'pino'

/** Header carrying the request id in both directions (honoured inbound, echoed outbound). */
export const REQUEST_ID_HEADER = 'x-request-id'

/** Log key holding the request id on every request-scoped line (fastify's default). */
export const REQUEST_ID_LOG_LABEL = 'reqId'

/** Paths scrubbed from every log line, whoever logs them. */
export const REDACTED_PATHS = ['req.headers.authorization', 'headers.authorization']

// Incoming ids end up in logs and response headers: accept only short, tame strings so a
// client cannot inject newlines or megabytes into either.
const ACCEPTABLE_REQUEST_ID = /^[\w.:=+/-]{1,128}$/

/** Fastify `genReqId`: reuse a sane incoming `x-request-id`, otherwise mint a UUID. */
export function genReqId(req: IncomingMessage): string {
  const incoming = req.headers[REQUEST_ID_HEADER]
  if (typeof incoming === 'string' && ACCEPTABLE_REQUEST_ID.test(incoming)) return incoming
  return randomUUID()
}

/** pino options: JSON lines by default, pino-pretty when `config.logPretty`. */
export function loggerOptions(config: Pick<Config, 'logLevel' | 'logPretty'>): LoggerOptions {
  const options: LoggerOptions = {
    level: config.logLevel,
    redact: { paths: REDACTED_PATHS, censor: '[Redacted]' },
  }
  if (config.logPretty) {
    options.transport = {
      target: 'pino-pretty',
      options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
    }
  }
  return options
}

/**
 * The process logger. Pass `destination` to capture output (tests); it is ignored when
 * pretty printing, because pino-pretty writes from its own worker thread.
 */
export function createLogger(
  config: Pick<Config, 'logLevel' | 'logPretty'>,
  destination?: DestinationStream,
): Logger {
  const options = loggerOptions(config)
  return options.transport || destination === undefined ? pino(options) : pino(options, destination)
}
