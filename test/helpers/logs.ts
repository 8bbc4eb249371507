import { Writable } from 'node:stream'
import { createLogger, type Logger } from '../../src/logger.js'
import type { LogLevel } from '../../src/config.js'

export interface LogLine {
  level: number
  msg?: string
  reqId?: string
  [key: string]: unknown
}

export interface CapturedLogs {
  logger: Logger
  /** Every JSON line written so far, parsed. */
  lines(): LogLine[]
}

/** A real pino logger (the service's options) writing into memory instead of stdout. */
export function captureLogs(logLevel: LogLevel = 'info'): CapturedLogs {
  const chunks: string[] = []
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'))
      done()
    },
  })
  const logger = createLogger({ logLevel, logPretty: false }, sink)
  return {
    logger,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as LogLine),
  }
}
