import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { loadConfig, type Config, type Env } from '../../src/config.js'
import { findProjectRoot } from '../../src/http/package-info.js'

/** One API key per scope the contract suite needs (>= 16 characters, as the service demands). */
export const CONTRACT_KEYS = {
  admin: 'contract-admin-key-0000000000000001',
  reader: 'contract-reader-key-000000000000002',
} as const

/** A server that requires API keys (real API_KEYS parsing), with in-memory storage. */
export function keyedConfig(env: Env = {}): Config {
  return loadConfig({
    DATABASE_PATH: ':memory:',
    LOG_LEVEL: 'silent',
    WORKERS: '1',
    // Load shedding off: a busy shared machine must not turn the answers under test into 503s.
    MAX_EVENT_LOOP_DELAY_MS: '0',
    API_KEYS: JSON.stringify({ [CONTRACT_KEYS.admin]: ['admin'], [CONTRACT_KEYS.reader]: ['jobs:read'] }),
    ...env,
  })
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}

/** A Prism validation message: `location` starts with `request` or `response`. */
export interface Violation {
  location: string[]
  severity: string
  code: string | number
  message: string
}

export interface PrismProxy {
  /** `http://127.0.0.1:<port>`, forwarding to the upstream server. */
  url: string
  output(): string
}

/**
 * Starts `prism proxy <document URL> <upstream>` (@stoplight/prism-cli 5.14, a validating
 * proxy built from the served /openapi.json). It forwards every request and reports what
 * contradicts the document in the `sl-violations` response header. Stopped when `t` ends.
 */
export async function startPrismProxy(
  t: { teardown(fn: () => unknown): void },
  upstream: string,
): Promise<PrismProxy> {
  const port = await freePort()
  const prism = join(findProjectRoot(), 'node_modules', '.bin', 'prism')
  const child = spawn(prism, ['proxy', `${upstream}/openapi.json`, upstream, '--port', String(port), '--host', '127.0.0.1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1' },
  })
  let output = ''
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  t.teardown(async () => {
    child.kill('SIGTERM')
    await exited
  })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`prism did not start in 60 s:\n${output}`)), 60_000)
    const read = (chunk: Buffer) => {
      output += chunk.toString('utf8')
      if (output.includes('Prism is listening')) {
        clearTimeout(timer)
        resolve()
      }
    }
    child.stdout!.on('data', read)
    child.stderr!.on('data', read)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`prism exited with ${code}:\n${output}`))
    })
  })
  return { url: `http://127.0.0.1:${port}`, output: () => output }
}

/** The violations Prism attached to a response, split by side. */
export function violationsOf(response: Response): { request: Violation[]; response: Violation[] } {
  const header = response.headers.get('sl-violations')
  const all = header === null ? [] : (JSON.parse(header) as Violation[])
  return {
    request: all.filter((v) => v.location[0] === 'request'),
    response: all.filter((v) => v.location[0] !== 'request'),
  }
}
