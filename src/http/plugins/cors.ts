import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import { Type } from 'typebox'
import { PUBLIC } from '../auth/scopes.js'
import { StrictObject, noContent } from '../schemas/common.js'

/**
 * Cross-origin access for browser apps (CORS_ORIGINS; off when unset). Two plugins sharing
 * what they learn about the routes:
 * - `headers`, registered before authentication, answers every request from an allowed
 *   origin with `Access-Control-Allow-Origin` and the response headers a script may read,
 *   errors included (a browser app must be able to read a 401's message);
 * - `preflights`, registered after the routes, declares an `OPTIONS` operation per path
 *   (public: browsers send preflights without credentials) that answers 204 with the
 *   path's methods and the request headers the API reads.
 */

/** Request headers a cross-origin script may send. */
const ALLOWED_REQUEST_HEADERS = 'authorization, content-type, idempotency-key'
/** Response headers a cross-origin script may read. */
const EXPOSED_HEADERS = [
  'Location', 'Retry-After', 'Link', 'Idempotent-Replayed', 'WWW-Authenticate', 'Content-Disposition',
  'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset', 'X-Request-Id',
].join(', ')
/** Seconds a browser may cache a preflight answer. */
const PREFLIGHT_MAX_AGE_S = 600

const PREFLIGHT_HEADERS = {
  'Access-Control-Allow-Origin': Type.String({ description: 'The calling origin, or `*`; absent when the origin is not in CORS_ORIGINS' }),
  'Access-Control-Allow-Methods': Type.String({ description: 'Methods of this path', examples: ['GET, POST, OPTIONS'] }),
  'Access-Control-Allow-Headers': Type.String({ description: 'Request headers a script may send', examples: [ALLOWED_REQUEST_HEADERS] }),
  'Access-Control-Max-Age': Type.Integer({ description: 'Seconds the answer may be cached' }),
  Vary: Type.String({ description: '`Origin` unless every origin is allowed' }),
}

const PreflightRequestHeaders = Type.Object({
  origin: Type.String({ minLength: 1, description: 'The calling page\'s origin' }),
  'access-control-request-method': Type.String({ minLength: 1, description: 'The method of the request to come' }),
  'access-control-request-headers': Type.Optional(Type.String({ description: 'The headers of the request to come' })),
})

/** `/jobs/:id/losses` -> `preflightJobsIdLosses` */
function preflightOperationId(url: string): string {
  const words = url.split(/[^A-Za-z0-9]+/).filter((word) => word !== '')
  return `preflight${words.map((word) => word[0]!.toUpperCase() + word.slice(1)).join('') || 'Root'}`
}

export function corsPlugins() {
  /** Methods by URL of every documented route, collected as routes are added. */
  const methodsByUrl = new Map<string, Set<string>>()

  const headers = fp(async (app) => {
    const origins = app.config.corsOrigins
    if (origins.length === 0) return
    const anyOrigin = origins.includes('*')
    const allowed = (origin: string | undefined): string | undefined => {
      if (origin === undefined) return undefined
      if (anyOrigin) return '*'
      return origins.includes(origin) ? origin : undefined
    }

    app.addHook('onRoute', (route: RouteOptions) => {
      const schema = route.schema as { hide?: boolean } | undefined
      if (schema?.hide || route.method === 'HEAD' || route.method === 'OPTIONS') return
      const methods = methodsByUrl.get(route.url) ?? new Set<string>()
      for (const method of [route.method].flat()) methods.add(method)
      methodsByUrl.set(route.url, methods)
    })

    app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      if (!anyOrigin) reply.header('vary', 'Origin')
      const origin = allowed(request.headers.origin)
      if (origin === undefined) return
      reply.header('access-control-allow-origin', origin)
      if (request.method !== 'OPTIONS') reply.header('access-control-expose-headers', EXPOSED_HEADERS)
    })
  }, { name: 'seqserve-cors', dependencies: ['seqserve-config'] })

  const preflights = fp(async (app) => {
    if (app.config.corsOrigins.length === 0) return
    for (const [url, methods] of methodsByUrl) {
      const allowMethods = [...methods, 'OPTIONS'].join(', ')
      const params = [...url.matchAll(/:([A-Za-z0-9_]+)/g)].map((match) => match[1]!)
      app.options(url, {
        config: { scope: PUBLIC },
        schema: {
          operationId: preflightOperationId(url),
          summary: `CORS preflight of ${url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`,
          description: 'Sent by browsers before a cross-origin request; needs no API key. Present only when CORS_ORIGINS is set.',
          tags: ['cors'],
          headers: PreflightRequestHeaders,
          ...(params.length > 0 ? { params: StrictObject(Object.fromEntries(params.map((name) => [name, Type.String()]))) } : {}),
          response: { 204: noContent('The methods and headers this path allows', { headers: PREFLIGHT_HEADERS }) },
        },
      }, async (_request, reply) => {
        reply.code(204).headers({
          'access-control-allow-methods': allowMethods,
          'access-control-allow-headers': ALLOWED_REQUEST_HEADERS,
          'access-control-max-age': String(PREFLIGHT_MAX_AGE_S),
        })
        return null
      })
    }
  }, { name: 'seqserve-cors-preflights', dependencies: ['seqserve-cors'] })

  return { headers, preflights }
}

