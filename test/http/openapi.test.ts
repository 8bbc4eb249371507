import { readFile } from 'node:fs/promises'
import t from 'tap'
import { Type } from 'typebox'
import { ERROR_CODES } from '../../src/http/errors.js'
import { formatOpenApi, openApiConfig, openApiFilePath } from '../../src/http/openapi-document.js'
import { errorResponses, jsonResponse } from '../../src/http/schemas/common.js'
import { packageInfo } from '../../src/http/package-info.js'
import { startServer } from '../helpers/server.js'

interface OpenApiDocument {
  openapi: string
  info: { title: string; version: string }
  paths: Record<string, Record<string, { tags?: string[]; responses: Record<string, unknown> }>>
  components: { schemas: Record<string, { properties: { code: { enum: string[] } } }> }
}

t.test('/openapi.json serves an OpenAPI 3 document describing the routes', async (t) => {
  const server = await startServer(t, { config: { ...openApiConfig(), maxEventLoopDelayMs: 0 } })
  const response = await server.fetch('/openapi.json')
  t.equal(response.status, 200)
  t.match(response.headers.get('content-type'), /^application\/json/)
  const document = (await response.json()) as OpenApiDocument

  t.match(document.openapi, /^3\.\d+\.\d+$/, 'OpenAPI 3.x')
  t.same(document.info.title, packageInfo().name)
  t.same(document.info.version, packageInfo().version)
  t.ok(document.paths['/healthz']?.get?.responses['200'], '/healthz documents its 200 response')
  t.notOk(document.paths['/openapi.json'], 'the spec route itself is hidden')
  t.notOk(Object.keys(document.paths).some((path) => path.startsWith('/docs')), 'docs assets are hidden')
  t.same(
    document.components.schemas.ErrorResponse?.properties.code.enum,
    ERROR_CODES,
    'ErrorResponse lists every catalogue code',
  )
})

t.test('the committed openapi/openapi.json matches what the server serves (drift test)', async (t) => {
  const server = await startServer(t, { config: { ...openApiConfig(), maxEventLoopDelayMs: 0 } })
  const served = await (await server.fetch('/openapi.json')).json()
  const committedText = await readFile(openApiFilePath(), 'utf8')
  // A readable structural diff first, then the exact bytes `npm run openapi` would write.
  t.same(JSON.parse(committedText), served, 'run `npm run openapi` and commit the result')
  t.equal(committedText, formatOpenApi(served), 'file is formatted as `npm run openapi` writes it')
})

t.test('the drift comparison notices a new route', async (t) => {
  // Guards the drift test itself: a schema change must change the served document.
  const server = await startServer(t, {
    // No load shedding: on a loaded machine a 503 would stand in for the document.
    config: { ...openApiConfig(), maxEventLoopDelayMs: 0 },
    setup: (app) => {
      app.get(
        '/extra',
        {
          schema: {
            operationId: 'getExtra',
            summary: 'Only in this test',
            tags: ['health'],
            response: { 200: jsonResponse('OK', Type.Object({ ok: Type.Boolean() })), ...errorResponses(404) },
          },
        },
        async () => ({ ok: true }),
      )
    },
  })
  const served = await (await server.fetch('/openapi.json')).json()
  const committedText = await readFile(openApiFilePath(), 'utf8')
  t.not(formatOpenApi(served), committedText)
  t.ok((served as OpenApiDocument).paths['/extra'], 'the new route is documented')
})

t.test('/docs serves the Swagger UI page and its assets', async (t) => {
  const server = await startServer(t)
  const page = await server.fetch('/docs/')
  t.equal(page.status, 200)
  t.match(page.headers.get('content-type'), /^text\/html/)
  const html = await page.text()
  t.match(html, /<div id="swagger-ui">/)
  t.match(html, /swagger-ui-bundle\.js/)

  const withoutSlash = await server.fetch('/docs')
  t.equal(withoutSlash.status, 200)
  t.match(await withoutSlash.text(), /swagger-ui-bundle\.js/)

  const bundle = await server.fetch('/docs/static/swagger-ui-bundle.js')
  t.equal(bundle.status, 200)
  t.match(bundle.headers.get('content-type'), /javascript/)
  await bundle.arrayBuffer()

  const uiSpec = await (await server.fetch('/docs/json')).json()
  const spec = await (await server.fetch('/openapi.json')).json()
  t.same(uiSpec, spec, 'Swagger UI loads the same document as /openapi.json')
})
