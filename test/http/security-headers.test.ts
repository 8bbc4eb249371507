import { execFile } from 'node:child_process'
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { startServer, type TapTest } from '../helpers/server.js'
import { configFromEnv as configWith } from '../helpers/config.js'

const ADMIN = 'adm1n-0123456789abcdef0123456789'
const API_CSP = "default-src 'none';frame-ancestors 'none';base-uri 'none';form-action 'none'"

function expectApiHeaders(t: TapTest, response: Response, what: string) {
  const h = response.headers
  t.equal(h.get('content-security-policy'), API_CSP, `${what}: CSP runs and frames nothing`)
  t.equal(h.get('x-content-type-options'), 'nosniff', `${what}: nosniff`)
  t.equal(h.get('x-frame-options'), 'DENY', `${what}: X-Frame-Options`)
  t.equal(h.get('referrer-policy'), 'no-referrer', `${what}: Referrer-Policy`)
  t.equal(h.get('cross-origin-resource-policy'), 'same-origin', `${what}: CORP`)
  t.equal(h.get('strict-transport-security'), null, `${what}: no HSTS (the TLS terminator owns it)`)
  for (const name of PAGE_ONLY) t.equal(h.get(name), null, `${what}: no ${name} (it acts on HTML documents only)`)
}

/** Headers browsers apply to HTML documents only: on the /docs and /ui pages, not on JSON. */
const PAGE_ONLY = ['cross-origin-opener-policy', 'origin-agent-cluster', 'x-dns-prefetch-control', 'x-download-options', 'x-permitted-cross-domain-policies', 'x-xss-protection']

function expectPageHeaders(t: TapTest, response: Response, what: string) {
  const h = response.headers
  t.equal(h.get('x-content-type-options'), 'nosniff', `${what}: nosniff`)
  t.equal(h.get('x-frame-options'), 'DENY', `${what}: X-Frame-Options`)
  t.equal(h.get('cross-origin-opener-policy'), 'same-origin', `${what}: COOP`)
  t.equal(h.get('origin-agent-cluster'), '?1', `${what}: Origin-Agent-Cluster`)
  t.equal(h.get('x-dns-prefetch-control'), 'off', `${what}: no DNS prefetching`)
  t.equal(h.get('x-download-options'), 'noopen', `${what}: X-Download-Options`)
  t.equal(h.get('x-permitted-cross-domain-policies'), 'none', `${what}: no Flash/PDF cross-domain policies`)
  t.equal(h.get('x-xss-protection'), '0', `${what}: the legacy XSS auditor off`)
}

t.test('the HTML pages (/docs, /ui) carry the document-only headers too', async (t) => {
  const server = await startServer(t)
  for (const path of ['/docs/', '/ui/']) {
    const response = await server.fetch(path)
    t.equal(response.status, 200, path)
    t.match(response.headers.get('content-type') ?? '', /^text\/html/, `${path} is a page`)
    expectPageHeaders(t, response, path)
    await response.arrayBuffer()
  }
})

t.test('API responses, successes and errors alike, carry the security headers', async (t) => {
  const server = await startServer(t, { config: configWith({ API_KEYS: JSON.stringify({ [ADMIN]: ['admin'] }) }) })
  const auth = { authorization: `Bearer ${ADMIN}` }
  const cases: [string, Promise<Response>, number][] = [
    ['GET /healthz', server.fetch('/healthz'), 200],
    ['GET /jobs', server.fetch('/jobs', { headers: auth }), 200],
    ['HEAD /jobs', server.fetch('/jobs', { method: 'HEAD', headers: auth }), 200],
    ['POST /jobs (invalid)', server.postJson('/jobs', { name: 'x' }, auth), 400],
    ['GET /jobs without a key', server.fetch('/jobs'), 401],
    ['unknown route', server.fetch('/nope', { headers: auth }), 404],
    ['GET /openapi.json', server.fetch('/openapi.json'), 200],
    ['GET /predict (unknown model)', server.fetch('/predict?model=nope&input=a', { headers: auth }), 404],
  ]
  for (const [what, pending, status] of cases) {
    const response = await pending
    t.equal(response.status, status, what)
    expectApiHeaders(t, response, what)
    await response.arrayBuffer()
  }
})

/** `href`/`src` attributes of a page, resolved against its URL. */
function referencedUrls(html: string, page: string): string[] {
  return [...html.matchAll(/\b(?:href|src)="([^"]+)"/g)].map((match) => new URL(match[1]!, page).toString())
}

t.test('/docs/ and every asset it references load under the docs CSP', async (t) => {
  const server = await startServer(t)
  const pageUrl = `${server.baseUrl}/docs/`
  const page = await fetch(pageUrl)
  t.equal(page.status, 200)
  const csp = page.headers.get('content-security-policy') ?? ''
  const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name!, values.join(' ')]))
  t.equal(directives.get('default-src'), "'none'", 'nothing unless allowed below')
  t.equal(directives.get('script-src'), "'self'", 'scripts only as files from this origin: no inline script, no eval')
  t.equal(directives.get('connect-src'), "'self'", 'the spec and "Try it out" go to this origin only')
  t.equal(directives.get('frame-ancestors'), "'none'")
  t.notOk(directives.has('upgrade-insecure-requests'), 'plain-HTTP deployments keep working')
  t.equal(page.headers.get('x-content-type-options'), 'nosniff')
  const html = await page.text()
  t.same([...html.matchAll(/<script\b([^>]*)>/g)].filter((m) => !/\bsrc=/.test(m[1]!)), [], 'every script is a file: the CSP needs no inline script')

  const assets = referencedUrls(html, pageUrl)
  t.ok(assets.length >= 6, `the page references its assets (${assets.length})`)
  // The initializer then fetches the spec from ./json (connect-src 'self').
  for (const url of [...assets, new URL('json', pageUrl).toString()]) {
    t.ok(url.startsWith(`${server.baseUrl}/docs/`), `${url} is same-origin`)
    const asset = await fetch(url)
    t.equal(asset.status, 200, `${url} loads`)
    t.equal(asset.headers.get('x-content-type-options'), 'nosniff')
    const type = asset.headers.get('content-type') ?? ''
    if (url.endsWith('.js')) t.match(type, /javascript/, `${url} is served as JavaScript (nosniff demands it)`)
    if (url.endsWith('.css')) t.match(type, /^text\/css/, `${url} is served as CSS (nosniff demands it)`)
    await asset.arrayBuffer()
  }
})

function findChromium(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
      try {
        accessSync(join(dir, name), constants.X_OK)
        return join(dir, name)
      } catch { /* not here */ }
    }
  }
  return undefined
}

const chromium = findChromium()
const run = promisify(execFile)

/** The DOM after Swagger UI ran, plus Chromium's console log (CSP violations are logged there). */
async function renderInChromium(url: string): Promise<{ dom: string; log: string }> {
  const profile = mkdtempSync(join(tmpdir(), 'seqserve-chromium-'))
  try {
    const { stdout, stderr } = await run(chromium!, [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', `--user-data-dir=${profile}`, '--enable-logging=stderr', '--v=0',
      // Lets the page's scripts and fetches finish before the DOM is dumped.
      '--virtual-time-budget=15000', '--dump-dom', url,
    ], { timeout: 90_000, maxBuffer: 64 * 1024 * 1024 })
    return { dom: stdout, log: stderr }
  } finally {
    rmSync(profile, { recursive: true, force: true })
  }
}

const cspViolations = (log: string) => log.split('\n').filter((line) => line.includes('Content Security Policy'))

t.test('Swagger UI renders in headless Chromium with no CSP violation', { skip: chromium ? false : 'chromium is not installed' }, async (t) => {
  const server = await startServer(t, { config: configWith({ API_KEYS: JSON.stringify({ [ADMIN]: ['admin'] }) }) })
  const overview = await renderInChromium(`${server.baseUrl}/docs/`)
  t.match(overview.dom, 'class="swagger-ui', 'Swagger UI mounted')
  for (const operation of ['operations-jobs-createJob', 'operations-jobs-getJob', 'operations-predict-predictBatch', 'operations-health-getHealth']) {
    t.match(overview.dom, `id="${operation}"`, `${operation} rendered from the spec`)
  }
  t.match(overview.dom, /class="btn authorize/, 'the Authorize button for the bearer scheme')
  t.same(cspViolations(overview.log), [], 'no CSP violation in the console')

  // Deep link: the operation opens, rendering its schemas and highlighted examples.
  const expanded = await renderInChromium(`${server.baseUrl}/docs/#/jobs/createJob`)
  t.match(expanded.dom, 'opblock-body', 'the operation expanded')
  t.match(expanded.dom, 'highlight-code', 'examples rendered')
  t.same(cspViolations(expanded.log), [], 'no CSP violation in the console')
})
