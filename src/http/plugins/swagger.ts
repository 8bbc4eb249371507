import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import { PUBLIC } from '../auth/scopes.js'
import { documentRoutePolicies, securitySchemes } from '../openapi-route-policies.js'
import { packageInfo } from '../package-info.js'
import { DOCS_SECURITY_HEADERS } from './security-headers.js'

/** Tags group routes in /docs; a route's `schema.tags` must use these names. */
export const API_TAGS = [
  { name: 'jobs', description: 'Submit, inspect, cancel and delete training jobs' },
  { name: 'predict', description: 'Run a trained model' },
  { name: 'models', description: 'Model cards, versions, aliases, import and export' },
  { name: 'health', description: 'Liveness and readiness probes' },
  { name: 'operations', description: 'Monitoring' },
  { name: 'open inference protocol (v2)', description: 'KServe V2 / Open Inference Protocol (REST); errors use the protocol body `{"error", "code"}`' },
]

const CORS_TAG = { name: 'cors', description: 'Browser preflight requests (only when CORS_ORIGINS is set)' }

/**
 * OpenAPI document built from the route schemas (served at GET /openapi.json and
 * committed as openapi/openapi.json) and Swagger UI at /docs.
 *
 * `servers` is the relative `/`: the document must not depend on where it is served
 * from, or the committed copy would drift between machines.
 *
 * Each operation's security requirement and the 401/403/429/503 answers of the protection
 * plugins are documented from its route config (openapi-route-policies.ts). The docs and
 * the document itself are public, and the docs pages get a CSP that lets Swagger UI run.
 */
export default fp(
  async (app) => {
    const info = packageInfo()
    const keysRequired = app.config.apiKeys.size > 0
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: { title: info.name, description: info.description, version: info.version },
        servers: [{ url: '/', description: 'The server that serves this document' }],
        tags: app.config.corsOrigins.length > 0 ? [...API_TAGS, CORS_TAG] : API_TAGS,
        components: { securitySchemes: securitySchemes(keysRequired) },
      },
      transform: ({ schema, url, route }) => ({
        schema: documentRoutePolicies(schema as Parameters<typeof documentRoutePolicies>[0], route.config, keysRequired) as typeof schema,
        url,
      }),
      // Shared schemas become #/components/schemas/<$id> rather than def-0, def-1, ...
      refResolver: {
        buildLocalReference: (json, _baseUri, _fragment, index) =>
          typeof json.$id === 'string' ? json.$id : `def-${index}`,
      },
    })
    await app.register(async (docs) => {
      docs.addHook('onRoute', (route: RouteOptions) => {
        route.config = { ...route.config, scope: PUBLIC, helmet: DOCS_SECURITY_HEADERS } as RouteOptions['config']
      })
      await docs.register(swaggerUi, { routePrefix: '/docs' })
    })

    app.get('/openapi.json', { schema: { hide: true }, config: { scope: PUBLIC } }, async () => app.swagger())
  },
  { name: 'seqserve-swagger', dependencies: ['seqserve-config'] },
)
