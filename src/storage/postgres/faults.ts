import { faultOpenError } from '../open-errors.js'
import { DatabaseOpenError, StorageFullError, StorageUnavailableError, type StorageFaultError, type StorageUnavailableReason } from '../errors.js'

/** SQLSTATEs (https://www.postgresql.org/docs/current/errcodes-appendix.html) that are faults of the server, not of the statement. */
const UNAVAILABLE_SQLSTATES: Record<string, StorageUnavailableReason> = {
  '25006': 'read_only', // read_only_sql_transaction: a standby, or default_transaction_read_only
  '53000': 'io_error', // insufficient_resources
  '53200': 'io_error', // out_of_memory
  '53300': 'unreachable', // too_many_connections
  '57P01': 'unreachable', // admin_shutdown
  '57P02': 'unreachable', // crash_shutdown
  '57P03': 'unreachable', // cannot_connect_now (starting up, recovering)
  '58000': 'io_error', // system_error
  '58030': 'io_error', // io_error
  XX001: 'corrupt', // data_corrupted
  XX002: 'corrupt', // index_corrupted
}

/** Socket errors of the connection to the server. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'])

/** What node-postgres throws when a connection dies or cannot be had, without a code. */
const CONNECTION_MESSAGES = /Connection terminated|connection error and is not queryable|timeout exceeded when trying to connect|Connection timeout/i

/** The storage fault a PostgreSQL (or node-postgres) error stands for, or undefined when it is not one. */
export function postgresFault(err: unknown): StorageFaultError | undefined {
  if (err === null || typeof err !== 'object') return undefined
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string') {
    if (code === '53100') return new StorageFullError(`SQLSTATE ${code}`, { cause: err }) // disk_full
    const reason = UNAVAILABLE_SQLSTATES[code] ?? (code.startsWith('08') ? 'unreachable' : undefined) // 08: connection_exception
    if (reason !== undefined) return new StorageUnavailableError(reason, `SQLSTATE ${code}`, { cause: err })
    if (NETWORK_CODES.has(code)) return new StorageUnavailableError('unreachable', code, { cause: err })
    return undefined
  }
  if (err instanceof Error && CONNECTION_MESSAGES.test(err.message)) return new StorageUnavailableError('unreachable', undefined, { cause: err })
  return undefined
}

/** `err` as a typed storage fault when it is one, else unchanged. */
export function translatePostgresError(err: unknown): unknown {
  return postgresFault(err) ?? err
}

/** SQLSTATEs that only connecting can meet, with what to fix. */
const CONNECT_SQLSTATES: Record<string, { problem: string; advice: string }> = {
  '28P01': { problem: 'the server refused the password', advice: 'Fix the user and password in DATABASE_URL' },
  '28000': { problem: 'the server refused the connection (no pg_hba.conf entry, or a role without LOGIN)', advice: 'Allow this host and user in pg_hba.conf, or fix DATABASE_URL' },
  '3D000': { problem: 'the database does not exist', advice: 'Create it (createdb), or fix the database name in DATABASE_URL' },
}

/** An error met connecting to and migrating PostgreSQL, as a DatabaseOpenError when it is about the server; else unchanged. */
export function postgresOpenError(location: string, err: unknown): unknown {
  if (err instanceof DatabaseOpenError) return err
  const code = (err as { code?: unknown } | null)?.code
  const known = typeof code === 'string' ? CONNECT_SQLSTATES[code] : undefined
  if (known !== undefined) return new DatabaseOpenError(location, `${known.problem} (SQLSTATE ${code})`, known.advice, { cause: err })
  return faultOpenError(location, err, postgresFault)
}
