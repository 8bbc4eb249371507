/**
 * CORS_ORIGINS: off by default; when set, preflights of every API path answer with the
 * path's methods, responses (errors too) carry Access-Control-Allow-Origin for allowed
 * origins only, the preflights are declared in /openapi.json, and a page on another origin
 * in a real browser (headless Chromium) can call the API, or cannot when CORS is off.
 */
import { execFile } from 'node:child_process'
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { loadConfig, type Env } from '../../src/config.js'
import { startServer } from '../helpers/server.js'

const APP_ORIGIN = 'https://app.example.com'
const KEY = 'cors-test-admin-key-000000000000001'
// Load shedding off: a busy shared machine must not turn these answers into 503s.
const config = (env: Env) => loadConfig({ DATABASE_PATH: ':memory:', LOG_LEVEL: 'silent', WORKERS: '1', MAX_EVENT_LOOP_DELAY_MS: '0', ...env })

const preflight = (origin: string, method: string, headers = 'content-type, authorization') => ({
  method: 'OPTIONS',
  headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
})

t.test('off by default: no preflight routes, no CORS headers', async (t) => {
  const server = await startServer(t, { config: config({}) })
  const options = await server.fetch('/jobs', preflight(APP_ORIGIN, 'POST'))
  t.equal(options.status, 404, 'OPTIONS /jobs is not a route')
  t.equal(options.headers.get('access-control-allow-origin'), null)
  const get = await server.fetch('/healthz', { headers: { origin: APP_ORIGIN } })
  t.equal(get.headers.get('access-control-allow-origin'), null, 'a cross-origin GET gets no Allow-Origin')
  const document = (await (await server.fetch('/openapi.json')).json()) as { paths: Record<string, Record<string, unknown>> }
  t.notOk(Object.values(document.paths).some((methods) => 'options' in methods), 'no preflight in the document')
})

t.test('CORS_ORIGINS lists the allowed origins', async (t) => {
  const server = await startServer(t, { config: config({ CORS_ORIGINS: `${APP_ORIGIN}, http://localhost:5173`, API_KEYS: JSON.stringify({ [KEY]: ['admin'] }) }) })

  const ok = await server.fetch('/jobs', preflight(APP_ORIGIN, 'POST'))
  t.equal(ok.status, 204, 'a preflight needs no API key')
  t.equal(ok.headers.get('access-control-allow-origin'), APP_ORIGIN)
  t.equal(ok.headers.get('access-control-allow-methods'), 'POST, GET, OPTIONS', "the path's methods")
  t.equal(ok.headers.get('access-control-allow-headers'), 'authorization, content-type, idempotency-key')
  t.equal(ok.headers.get('access-control-max-age'), '600')
  t.match(ok.headers.get('vary'), /Origin/)

  const losses = await server.fetch('/jobs/abc/losses', preflight('http://localhost:5173', 'GET'))
  t.equal(losses.status, 204)
  t.equal(losses.headers.get('access-control-allow-methods'), 'GET, OPTIONS')
  t.equal(losses.headers.get('access-control-allow-origin'), 'http://localhost:5173')

  const stranger = await server.fetch('/jobs', preflight('https://evil.example', 'POST'))
  t.equal(stranger.status, 204)
  t.equal(stranger.headers.get('access-control-allow-origin'), null, 'another origin is not allowed')

  const unauthorized = await server.fetch('/jobs', { headers: { origin: APP_ORIGIN } })
  t.equal(unauthorized.status, 401)
  t.equal(unauthorized.headers.get('access-control-allow-origin'), APP_ORIGIN, 'errors carry CORS headers: the app can read the message')
  t.match(unauthorized.headers.get('access-control-expose-headers'), /WWW-Authenticate/)

  const listed = await server.fetch('/jobs', { headers: { origin: APP_ORIGIN, authorization: `Bearer ${KEY}` } })
  t.equal(listed.status, 200)
  t.equal(listed.headers.get('access-control-allow-origin'), APP_ORIGIN)
  t.match(listed.headers.get('access-control-expose-headers'), /Location.*Retry-After.*Link/)

  const bad = await server.fetch('/jobs', { method: 'OPTIONS', headers: { origin: APP_ORIGIN } })
  t.equal(bad.status, 400, 'a preflight without Access-Control-Request-Method is not a preflight')

  const document = (await (await server.fetch('/openapi.json')).json()) as {
    paths: Record<string, Record<string, { operationId: string; security?: unknown[]; responses: Record<string, { headers?: Record<string, unknown> }> }>>
    tags: { name: string }[]
  }
  for (const [path, methods] of Object.entries(document.paths)) {
    const options = methods.options
    t.ok(options, `OPTIONS ${path} is declared`)
    if (!options) continue
    t.match(options.operationId, /^preflight/)
    t.same(options.security, [], `OPTIONS ${path} needs no key`)
    t.ok(options.responses['204']?.headers?.['Access-Control-Allow-Methods'], `OPTIONS ${path} declares its headers`)
  }
  t.ok(document.tags.some((tag) => tag.name === 'cors'), 'the cors tag is defined')
})

t.test('CORS_ORIGINS="*" allows any origin; bad values stop the service', async (t) => {
  const server = await startServer(t, { config: config({ CORS_ORIGINS: '*' }) })
  const ok = await server.fetch('/predict', preflight('https://anyone.example', 'POST'))
  t.equal(ok.headers.get('access-control-allow-origin'), '*')
  t.equal(ok.headers.get('access-control-allow-methods'), 'GET, POST, OPTIONS')
  t.throws(() => config({ CORS_ORIGINS: 'https://app.example.com/' }), /CORS_ORIGINS has "https:\/\/app.example.com\/": each origin is scheme:\/\/host\[:port\]/)
  t.throws(() => config({ CORS_ORIGINS: '*, https://app.example.com' }), /list no others beside it/)
  t.same(config({}).corsOrigins, [], 'unset: off')
})

function findChromium(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    try {
      accessSync(join(dir, 'chromium'), constants.X_OK)
      return join(dir, 'chromium')
    } catch { /* not here */ }
  }
  return undefined
}
const chromium = findChromium()

/** Serves a page on another origin whose script POSTs a job and GETs it, and returns what it wrote into the DOM. */
async function crossOriginPage(t: { teardown(fn: () => unknown): void }, api: string): Promise<string> {
  const html = `<!doctype html><body><pre id="out">pending</pre><script>
    const out = document.getElementById('out');
    (async () => {
      const submitted = await fetch('${api}/jobs', { method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: { type: 'rnn', hidden_size: 4 }, data: { type: 'pairs', pairs: [{ input: 'ab', target: 'ba' }] } }) });
      const job = await submitted.json();
      const read = await fetch('${api}' + submitted.headers.get('Location'));
      out.textContent = 'status ' + submitted.status + ' location ' + (submitted.headers.get('Location') === '/jobs/' + job.id) + ' read ' + read.status;
    })().catch((err) => { out.textContent = 'blocked ' + err.name; });
  </script></body>`
  const page = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(html))
  await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => page.close(resolve)))
  const address = page.address() as { port: number }
  const profile = mkdtempSync(join(tmpdir(), 'seqserve-cors-chromium-'))
  try {
    const { stdout } = await promisify(execFile)(chromium!, [
      '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', `--user-data-dir=${profile}`,
      '--virtual-time-budget=10000', '--dump-dom', `http://127.0.0.1:${address.port}/`,
    ], { timeout: 90_000 })
    return /<pre id="out">([^<]*)<\/pre>/.exec(stdout)?.[1] ?? stdout
  } finally {
    rmSync(profile, { recursive: true, force: true })
  }
}

t.test('a page on another origin calls the API in Chromium only when its origin is allowed', { skip: chromium ? false : 'chromium is not installed' }, async (t) => {
  const open = await startServer(t, { config: config({}) })
  t.match(await crossOriginPage(t, open.baseUrl), /^blocked TypeError$/, 'CORS off: the browser blocks the call')

  // The page's origin is http://127.0.0.1:<its port>: allow every origin for this server.
  const allowed = await startServer(t, { config: config({ CORS_ORIGINS: '*' }) })
  t.equal(await crossOriginPage(t, allowed.baseUrl), 'status 202 location true read 200', 'CORS on: the job is submitted, its Location read and followed')
})
