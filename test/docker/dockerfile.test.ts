/**
 * Static checks of the Dockerfile and .dockerignore (there is no Docker engine in CI; the
 * image itself is built and run by ../shared/tools/verify-dockerfile). The HEALTHCHECK
 * command is also executed for real against a local HTTP server, since it is code.
 */
import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const root = fileURLToPath(new URL('../../', import.meta.url))
const read = (file: string) => readFileSync(`${root}${file}`, 'utf8')

interface Instruction {
  keyword: string
  args: string
}

interface Stage {
  image: string
  name?: string
  instructions: Instruction[]
}

/** Logical instructions: comments dropped, backslash continuations joined. */
function instructions(text: string): Instruction[] {
  const result: Instruction[] = []
  let pending = ''
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line.startsWith('#') || (line === '' && pending === '')) continue
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `
      continue
    }
    const full = (pending + line).trim()
    pending = ''
    if (full === '') continue
    const space = full.search(/\s/)
    result.push({ keyword: full.slice(0, space).toUpperCase(), args: full.slice(space + 1).trim() })
  }
  return result
}

/** Splits on whitespace outside quotes, dropping the quotes (enough for ENV and COPY). */
function words(args: string): string[] {
  return [...args.matchAll(/(?:[^\s"']+|"[^"]*"|'[^']*')+/g)].map((m) => m[0].replace(/["']/g, ''))
}

function parseDockerfile(text: string): Stage[] {
  const globalArgs = new Map<string, string>()
  const stages: Stage[] = []
  for (const instruction of instructions(text)) {
    if (instruction.keyword === 'FROM') {
      const [image, as, name] = words(instruction.args).filter((w) => !w.startsWith('--'))
      const resolved = image.replace(/\$\{?(\w+)\}?/g, (_, arg: string) => globalArgs.get(arg) ?? '')
      stages.push({ image: resolved, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] })
    } else if (stages.length === 0 && instruction.keyword === 'ARG') {
      const [key, value = ''] = instruction.args.split('=', 2)
      globalArgs.set(key.trim(), value.trim().replace(/^["']|["']$/g, ''))
    } else if (stages.length > 0) {
      stages[stages.length - 1].instructions.push(instruction)
    }
  }
  return stages
}

function all(stage: Stage, keyword: string): string[] {
  return stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args)
}

function env(stage: Stage): Map<string, string> {
  const vars = new Map<string, string>()
  for (const args of all(stage, 'ENV')) {
    const tokens = words(args)
    if (!tokens[0].includes('=')) vars.set(tokens[0], tokens.slice(1).join(' ')) // legacy `ENV K V`
    else for (const token of tokens) vars.set(token.slice(0, token.indexOf('=')), token.slice(token.indexOf('=') + 1))
  }
  return vars
}

/** The command of an exec-form instruction (`["node", ...]`), or undefined for shell form. */
function execForm(args: string): string[] | undefined {
  return args.startsWith('[') ? (JSON.parse(args) as string[]) : undefined
}

const stages = parseDockerfile(read('Dockerfile'))
const runtime = stages[stages.length - 1]
const lock = JSON.parse(read('package-lock.json')) as {
  packages: Record<string, { engines?: { node?: string } }>
}

t.test('multi-stage: build stages plus a final runtime stage', async (t) => {
  t.ok(stages.length >= 2, `${stages.length} stages`)
  const names = stages.map((s) => s.name)
  t.equal(new Set(names).size, names.length, 'stage names are unique')
})

t.test('every stage uses one Node LTS bookworm-slim base that better-sqlite3 supports', async (t) => {
  const images = new Set(stages.map((s) => s.image))
  t.equal(images.size, 1, `one base so the native addon matches the runtime ABI: ${[...images].join(', ')}`)
  const match = /^node:(\d+)-bookworm-slim$/.exec(runtime.image)
  t.ok(match, `${runtime.image} is node:<major>-bookworm-slim`)
  const major = Number(match?.[1])
  // Even majors up to 26 are LTS lines; from 27 on every release becomes LTS. 20 is EOL.
  t.ok(major >= 22 && (major % 2 === 0 || major >= 27), `Node ${major} is a supported LTS line`)
  const engines = lock.packages['node_modules/better-sqlite3']?.engines?.node ?? ''
  t.ok(engines.split('||').some((range) => range.trim() === `${major}.x`), `better-sqlite3 engines "${engines}" include ${major}.x`)
})

t.test('runtime stage: production settings', async (t) => {
  const vars = env(runtime)
  t.equal(vars.get('NODE_ENV'), 'production')
  t.equal(vars.get('HOST'), '0.0.0.0', 'listens on all interfaces, not the loopback default')
  t.equal(vars.get('PORT'), '3000')
  t.match(vars.get('DATABASE_PATH'), /^\/data\/[^/]+\.db$/, 'the database lives in the volume')
  t.ok(all(runtime, 'EXPOSE').some((args) => words(args).includes('3000')), 'EXPOSE 3000')
  const volumes = all(runtime, 'VOLUME').flatMap((args) => execForm(args) ?? words(args))
  t.ok(volumes.includes('/data'), `VOLUME /data (${volumes.join(', ')})`)
})

t.test('runtime stage runs as a non-root user who owns /data', async (t) => {
  const users = all(runtime, 'USER')
  t.ok(users.length > 0, 'USER is set')
  const user = users[users.length - 1] ?? ''
  const [name, group] = user.split(':')
  t.notOk(['root', '0'].includes(name), `USER ${user} is not root`)
  if (group !== undefined) t.notOk(['root', '0'].includes(group), `group ${group} is not root`)
  const chown = all(runtime, 'RUN').map((args) => /chown\s+(?:-R\s+)?(\S+)\s+(?:.*\s)?\/data\b/.exec(args)).find(Boolean)
  t.equal(chown?.[1], user, '/data is chowned to the same user, so SQLite can create its files')
})

t.test('runtime stage has production dependencies only and no compilers', async (t) => {
  const copyNodeModules = all(runtime, 'COPY').find((args) => /node_modules/.test(args))
  const from = /--from=(\S+)/.exec(copyNodeModules ?? '')?.[1]
  t.ok(from, `node_modules comes from another stage: ${copyNodeModules}`)
  const depsStage = stages.find((s) => s.name === from)
  t.ok(depsStage, `stage ${from} exists`)
  const installs = depsStage ? all(depsStage, 'RUN').filter((args) => /npm (ci|install|i)\b/.test(args)) : []
  t.equal(installs.length, 1, 'one npm install in that stage')
  t.match(installs[0], /npm ci\b[^&;]*--omit=dev/, 'a clean lockfile install without dev dependencies')

  const runtimeRuns = all(runtime, 'RUN').join('\n')
  t.notMatch(runtimeRuns, /\b(apt-get|apt|apk)\b.*\binstall\b/, 'no packages installed in the runtime stage')
  t.notMatch(runtimeRuns, /\bnpm (ci|install|i)\b/, 'no npm install in the runtime stage')
})

t.test('runtime stage carries what the server reads at runtime', async (t) => {
  const copied = all(runtime, 'COPY').flatMap((args) => {
    const parts = words(args).filter((w) => !w.startsWith('--'))
    return parts.slice(0, -1).map((source) => source.replace(/^\/app\//, '').replace(/^\.\//, ''))
  })
  for (const needed of ['package.json', 'package-lock.json', 'migrations', 'ui', 'node_modules', 'dist']) {
    t.ok(copied.includes(needed), `copies ${needed}`)
  }
})

t.test('CMD starts the built entry point with node as PID 1', async (t) => {
  const cmds = all(runtime, 'CMD')
  const cmd = execForm(cmds[cmds.length - 1] ?? '')
  t.same(cmd, ['node', 'dist/src/main.js'], 'exec form, so SIGTERM reaches node')
  t.equal(all(runtime, 'ENTRYPOINT').length, 0, "no ENTRYPOINT of our own wrapping node in a shell")
  const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> }
  t.equal(pkg.scripts.start, 'node dist/src/main.js', 'same entry point as npm start')
  t.ok(existsSync(`${root}src/main.ts`), 'dist/src/main.js is compiled from src/main.ts')
})

const healthchecks = all(runtime, 'HEALTHCHECK')
const healthcheck = execForm(healthchecks[0]?.replace(/^(--\S+\s+)*CMD\s+/, '') ?? '')

t.test('HEALTHCHECK probes /healthz with node, not curl', async (t) => {
  t.equal(healthchecks.length, 1, 'one HEALTHCHECK')
  t.match(healthchecks[0], /--timeout=\d+s/, 'bounded by a timeout')
  t.ok(healthcheck, 'exec form')
  t.equal(healthcheck?.[0], 'node', 'runs node')
  t.match(healthcheck?.join(' '), /\/healthz/, 'probes /healthz')
  t.notMatch(healthcheck?.join(' '), /\b(curl|wget)\b/, 'the slim image has neither')
})

function runHealthcheck(port: number): Promise<number> {
  const [, ...args] = healthcheck ?? []
  return new Promise((resolve) => {
    execFile(process.execPath, args, { env: { ...process.env, PORT: String(port) }, timeout: 20_000 }, (error) =>
      resolve(error ? (typeof error.code === 'number' ? error.code : -1) : 0),
    )
  })
}

async function listen(status: number): Promise<{ server: Server; port: number; paths: string[] }> {
  const paths: string[] = []
  const server = createServer((req, res) => {
    paths.push(req.url ?? '')
    res.writeHead(req.url === '/healthz' ? status : 404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, port: (server.address() as AddressInfo).port, paths }
}

t.test('the HEALTHCHECK command exits 0 only when /healthz on $PORT answers 2xx', async (t) => {
  const healthy = await listen(200)
  t.teardown(() => healthy.server.close())
  t.equal(await runHealthcheck(healthy.port), 0, 'healthy server -> 0')
  t.same(healthy.paths, ['/healthz'], 'asked /healthz once')

  const failing = await listen(503)
  t.teardown(() => failing.server.close())
  t.equal(await runHealthcheck(failing.port), 1, '503 -> 1')

  const closed = await listen(200)
  await new Promise((resolve) => closed.server.close(resolve))
  t.equal(await runHealthcheck(closed.port), 1, 'nothing listening -> 1')
})

t.test('.dockerignore keeps host artefacts out and lets the build inputs in', async (t) => {
  const patterns = read('.dockerignore')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
  for (const excluded of ['node_modules', 'dist', 'data', '.git', '.tap']) {
    t.ok(
      patterns.some((p) => p.replace(/^\/|\/$/g, '').replace(/^\*\*\//, '') === excluded),
      `${excluded} is excluded`,
    )
  }
  // Every path a COPY takes from the build context must survive the ignore list.
  const contextSources = stages.flatMap((stage) =>
    all(stage, 'COPY')
      .filter((args) => !args.includes('--from='))
      .flatMap((args) => words(args).filter((w) => !w.startsWith('--')).slice(0, -1)),
  )
  t.ok(contextSources.length > 0, `context sources: ${[...new Set(contextSources)].join(', ')}`)
  for (const source of new Set(contextSources)) {
    const path = source.replace(/^\.\//, '').replace(/\/$/, '')
    t.ok(existsSync(`${root}${path}`), `${path} exists in the repository`)
    t.notOk(
      patterns.some((p) => !p.startsWith('!') && (p === path || p === `${path}/` || p === `/${path}`)),
      `${path} is not ignored`,
    )
  }
})
