/**
 * There is no container engine here, so compose.yaml is checked against the app itself: each
 * seqserve service's environment is loaded by the real loadConfig (every variable is one the
 * README documents), DATABASE_URL names the postgres service with its credentials, the ports
 * agree, and the healthcheck command is run for real against a running server.
 */
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import YAML from 'yaml'
import { loadConfig } from '../../src/config.js'
import { findProjectRoot } from '../../src/http/package-info.js'
import { freePort } from '../helpers/postgres-cluster.js'
import { startServer } from '../helpers/server.js'

const root = findProjectRoot()
const run = promisify(execFile)

interface Healthcheck { test: string[]; interval?: string; timeout?: string; retries?: number }
interface Service {
  image?: string
  build?: string
  environment?: Record<string, string>
  ports?: string[]
  healthcheck?: Healthcheck
  depends_on?: Record<string, { condition: string }>
  stop_grace_period?: string
  deploy?: { replicas?: number }
}

const compose = YAML.parse(fs.readFileSync(path.join(root, 'compose.yaml'), 'utf8'), { merge: true }) as { services: Record<string, Service> }
const { postgres, api, worker } = compose.services

/** Variable names in the README's Configuration table. */
function documentedVariables(): Set<string> {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8')
  const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('\n## ', readme.indexOf('## Configuration') + 5))
  return new Set([...table.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]))
}

function seconds(duration: string | undefined): number {
  const match = /^(\d+)s$/.exec(duration ?? '')
  return match ? Number(match[1]) : Number.NaN
}

t.test('the services: postgres, api nodes and worker nodes of one image', async (t) => {
  t.same(Object.keys(compose.services).sort(), ['api', 'postgres', 'worker'])
  t.match(postgres.image, /^postgres:15/, 'PostgreSQL 15, as the tests use')
  t.equal(api.build, '.', 'the API service builds the Dockerfile')
  t.ok(fs.existsSync(path.join(root, 'Dockerfile')))
  t.equal(worker.image, api.image, 'workers run the same image')
  t.ok((api.deploy?.replicas ?? 1) >= 2, 'two API nodes or more')
  for (const node of [api, worker]) t.same(node.depends_on, { postgres: { condition: 'service_healthy' } }, 'nodes wait for a healthy database')
})

t.test('each node environment is valid for the real config, with its role and the postgres service', async (t) => {
  const documented = documentedVariables()
  const pg = postgres.environment!
  for (const [name, node, role] of [['api', api, 'api'], ['worker', worker, 'worker']] as const) {
    const env = node.environment!
    const config = loadConfig(env)
    t.equal(config.role, role, `${name}: ROLE=${role}`)
    t.same(Object.keys(env).filter((key) => !documented.has(key)), [], `${name}: every variable is a documented setting`)
    const url = new URL(config.databaseUrl!)
    t.same(
      { host: url.hostname, port: url.port, user: url.username, password: url.password, database: url.pathname.slice(1) },
      { host: 'postgres', port: '5432', user: pg.POSTGRES_USER, password: pg.POSTGRES_PASSWORD, database: pg.POSTGRES_DB },
      `${name}: DATABASE_URL points at the postgres service with its credentials`,
    )
    t.equal(config.host, '0.0.0.0', `${name}: listens on every interface of its container`)
    t.ok(seconds(node.stop_grace_period) * 1000 > config.shutdownTimeoutMs, `${name}: the stop grace period outlasts SHUTDOWN_TIMEOUT_MS`)
    t.notOk('NODE_ID' in env, `${name}: replicas keep distinct node ids (the default: each container's hostname)`)
  }
  t.equal(loadConfig(worker.environment!).workers, 2)
  const [published, container] = api.ports![0].split(':')
  t.equal(Number(container), loadConfig(api.environment!).port, 'the API port mapping targets PORT')
  t.match(published, /^\d+-\d+$/, 'a published port per API replica')
})

t.test('the node healthcheck is the real command: 0 against a live node, 1 when nothing answers', async (t) => {
  t.same(api.healthcheck, worker.healthcheck)
  const check = api.healthcheck!
  t.equal(check.test[0], 'CMD')
  const port = loadConfig(api.environment!).port
  const server = await startServer(t)
  const live = Number(new URL(server.baseUrl).port)
  const command = (target: number) => check.test.slice(1).map((arg) => arg.replace(`127.0.0.1:${port}/`, `127.0.0.1:${target}/`))
  t.not(command(live).join(' '), check.test.slice(1).join(' '), 'the command probes PORT on localhost')
  t.match(check.test.join(' '), /\/healthz/, 'liveness: /healthz, which every role answers')
  const ok = await run(command(live)[0], command(live).slice(1))
  t.equal(ok.stderr, '')
  const dead = await run(command(await freePort())[0], command(await freePort()).slice(1)).then(() => 0, (err: { code: number }) => err.code)
  t.equal(dead, 1)
  t.match(postgres.healthcheck?.test.join(' '), /pg_isready -U seqserve -d seqserve/)
})
