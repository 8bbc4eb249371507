import pg from 'pg'
import { translatePostgresError } from './faults.js'

/**
 * Where a PostgreSQL repository sends its SQL: the pool (each statement on whichever
 * connection is free) or one connection inside a transaction. Repositories take a Session,
 * so the same code runs alone or as part of a multi-table transaction.
 */
export interface Session {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>
  /** Runs `work` in one transaction (inside an open one, simply as part of it). */
  transaction<T>(work: (tx: Session) => Promise<T>): Promise<T>
}

const INT8_OID = 20

/**
 * BIGINT columns (millisecond times, seq, COUNT(*)) as JS numbers instead of pg's default
 * strings: every value we store is far below 2^53.
 */
export const numericTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as 'text')) as pg.CustomTypesConfig['getTypeParser'],
}

class ClientSession implements Session {
  constructor(private readonly client: pg.PoolClient) {}

  query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    return this.client.query<R>(text, values)
  }

  transaction<T>(work: (tx: Session) => Promise<T>): Promise<T> {
    return work(this)
  }
}

/**
 * The pool: every statement and transaction that leaves it rejects with a typed storage fault
 * (StorageFullError, StorageUnavailableError) when the server could not take it.
 */
export class PoolSession implements Session {
  constructor(readonly pool: pg.Pool) {}

  async query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(text, values)
    } catch (err) {
      throw translatePostgresError(err)
    }
  }

  async transaction<T>(work: (tx: Session) => Promise<T>): Promise<T> {
    try {
      return await this.transactionOnClient(work)
    } catch (err) {
      throw translatePostgresError(err)
    }
  }

  private async transactionOnClient<T>(work: (tx: Session) => Promise<T>): Promise<T> {
    const held = await checkOut(this.pool)
    const { client } = held
    try {
      await client.query('BEGIN')
      const result = await work(new ClientSession(client))
      await client.query('COMMIT')
      return result
    } catch (err) {
      // A connection that cannot even roll back is dropped from the pool rather than reused.
      await client.query('ROLLBACK').catch((rollbackError: Error) => held.break(rollbackError))
      throw err
    } finally {
      held.release()
    }
  }
}

/** A connection taken from the pool, guarded until it goes back (see checkOut). */
export interface HeldClient {
  client: pg.PoolClient
  /** Marks the connection unusable: release() then closes it instead of pooling it. */
  break(err: Error): void
  /** Gives the connection back to the pool (closed, when it broke meanwhile). */
  release(): void
}

/**
 * A connection of the pool for several statements. The pool listens for errors only on idle
 * connections: a server that ends the session (shutdown, restart, failover: 57P01) while one
 * is checked out between two statements would emit an 'error' nobody handles, which kills
 * the process. Here the error marks the connection broken; the next statement on it fails
 * (and is classified like any other), and release() drops it from the pool.
 */
export async function checkOut(pool: pg.Pool): Promise<HeldClient> {
  const client = await pool.connect()
  let broken: Error | undefined
  const onError = (err: Error) => {
    broken ??= err
  }
  client.on('error', onError)
  return {
    client,
    break(err) {
      broken ??= err
    },
    release() {
      client.removeListener('error', onError)
      client.release(broken)
    },
  }
}
