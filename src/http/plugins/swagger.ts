import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import fp from 'fastify-plugin'
import { packageInfo } from '../package-info.js'

/** Tags group routes in /docs; a route's `schema.tags` must use these names. */
export const API_TAGS = [
  { name: 'jobs', description: 'Submit, inspect, cancel and delete training jobs' },
  { name: 'predict', description: 'Run a trained model' },
  { name: 'health', description: 'Liveness and readiness probes' },
]

/**
 * OpenAPI document built from the route schemas (served at GET /openapi.json and
 * committed as openapi/openapi.json) and Swagger UI at /docs.
 *
 * Deliberately no `servers` entry: the document must not depend on where it is served
 * from, or the committed copy would drift between machines.
 */
export default fp(
  async (app) => {
    const info = packageInfo()
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: { title: info.name, description: info.description, version: info.version },
        tags: API_TAGS,
      },
      // Shared schemas become #/components/schemas/<$id> rather than def-0, def-1, ...
      refResolver: {
        buildLocalReference: (json, _baseUri, _fragment, index) =>
          typeof json.$id === 'string' ? json.$id : `def-${index}`,
      },
    })
    await app.register(swaggerUi, { routePrefix: '/docs' })

    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
  },
  { name: 'seqserve-swagger' },
)
