import type tap from 'tap'
import { buildApp, type App } from '../../src/app.js'
import type { Config } from '../../src/config.js'
import type { Logger } from '../../src/logger.js'
import { testConfig } from './config.js'

export interface TestServer {
  app: App
  /** `http://127.0.0.1:<port>` */
  baseUrl: string
  /** fetch against the server: `server.fetch('/healthz')`. */
  fetch(path: string, init?: RequestInit): Promise<Response>
  /** POST a JSON body (or a raw string, sent as is) with content-type application/json. */
  postJson(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>
}

export interface StartServerOptions {
  config?: Config
  logger?: Logger | false
  /** Runs after buildApp and before listen: register test-only routes here. */
  setup?: (app: App) => void | Promise<void>
  /** Start the job runner (worker threads) after listen, so submitted jobs train. */
  training?: boolean
}

/** A real HTTP server on an ephemeral port, closed when the test ends. */
export async function startServer(
  t: { teardown(fn: () => unknown): void },
  options: StartServerOptions = {},
): Promise<TestServer> {
  const app = await buildApp({ config: options.config ?? testConfig(), logger: options.logger ?? false })
  t.teardown(() => app.close())
  await options.setup?.(app)
  await app.listen({ host: '127.0.0.1', port: 0 })
  // Compiling the routes' schemas blocks the event loop; on a loaded machine that can exceed
  // MAX_EVENT_LOOP_DELAY_MS and shed a test's first requests. Start once the delay has settled.
  for (let i = 0; i < 100 && app.isUnderPressure(); i++) await new Promise((resolve) => setTimeout(resolve, 50))
  if (options.training) {
    if (!app.runner) throw new Error('startServer({ training: true }) needs an app with a job runner')
    app.runner.start()
  }
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('expected a TCP address')
  const baseUrl = `http://127.0.0.1:${address.port}`
  const request = (path: string, init?: RequestInit) => fetch(`${baseUrl}${path}`, init)
  return {
    app,
    baseUrl,
    fetch: request,
    postJson: (path, body, headers = {}) =>
      request(path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
  }
}

/** The `t` a tap test callback receives. */
export type TapTest = Parameters<Parameters<typeof tap.test>[0]>[0]

export interface ErrorResponseBody {
  statusCode: number
  code: string
  error: string
  message: string
  details?: unknown
}

/** Asserts the one error shape and returns the parsed body for further checks. */
export async function readError(
  t: TapTest,
  response: Response,
  expected: { statusCode: number; code: string; error: string },
): Promise<ErrorResponseBody> {
  t.equal(response.status, expected.statusCode, 'HTTP status')
  t.match(response.headers.get('content-type'), /^application\/json/, 'JSON content type')
  const body = (await response.json()) as ErrorResponseBody
  const allowed = new Set(['statusCode', 'code', 'error', 'message', 'details'])
  t.same(Object.keys(body).filter((key) => !allowed.has(key)), [], 'no fields beyond the error shape')
  t.same(
    { statusCode: body.statusCode, code: body.code, error: body.error },
    expected,
    'statusCode, code and reason phrase',
  )
  t.equal(typeof body.message, 'string', 'message is a string')
  return body
}
