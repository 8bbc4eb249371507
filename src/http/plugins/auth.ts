import type { FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { ApiKeyIdentity } from '../auth/api-keys.js'
import { readBearer } from '../auth/bearer.js'
import { PUBLIC, UNDECLARED_ROUTE_SCOPE, grants, type RouteAccess } from '../auth/scopes.js'
import { httpError } from '../errors.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Who may call the route when API keys are configured: a scope (`'jobs:read'`, ...;
     * `admin` keys pass too) or `'public'` (anyone). Routes that declare nothing are
     * admin-only.
     */
    scope?: RouteAccess
  }
  interface FastifyRequest {
    /** The authenticated key (id and scopes, never the secret); null when the service is open or the route public. */
    apiKey: ApiKeyIdentity | null
  }
}

const REALM = 'Bearer realm="seqserve"'

function unauthorized(reply: FastifyReply, message: string, error?: 'invalid_request' | 'invalid_token') {
  // RFC 6750 section 3: the challenge tells clients which scheme to use.
  reply.header('www-authenticate', error ? `${REALM}, error="${error}"` : REALM)
  return httpError('unauthorized', message)
}

function routeName(request: FastifyRequest): string {
  return `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]}`
}

/**
 * API key authentication and scope checks, on every request before its body is read.
 *
 * With no keys configured the service is open (and says so at start). Otherwise:
 * - routes with `config.scope: 'public'` pass without a key;
 * - everything else needs `Authorization: Bearer <key>` with a known key -> else 401;
 * - the key must hold the route's scope or `admin` -> else 403; undeclared routes need admin;
 * - unknown URLs need a valid key of any scope before they get their 404, so anonymous
 *   clients cannot map the API.
 */
export default fp(
  async (app) => {
    const keys = app.config.apiKeys
    app.decorateRequest('apiKey', null)

    if (keys.size === 0) {
      app.log.warn('No API keys configured (API_KEYS / API_KEYS_FILE): the API is open to every client that can reach it')
      return
    }
    app.log.info(
      { apiKeys: keys.identities().map(({ id, scopes }) => ({ id, scopes: [...scopes] })) },
      `API keys required: ${keys.size} configured`,
    )

    app.addHook('onRequest', async (request, reply) => {
      const access = request.routeOptions.config.scope
      if (access === PUBLIC) return

      const credentials = readBearer(request.headers.authorization)
      if (credentials.kind === 'missing') {
        throw unauthorized(reply, 'An API key is required: send `Authorization: Bearer <key>`')
      }
      if (credentials.kind === 'malformed') {
        throw unauthorized(reply, 'The Authorization header must be `Bearer <key>`', 'invalid_request')
      }
      const identity = keys.identify(credentials.token)
      if (!identity) throw unauthorized(reply, 'The API key is not valid', 'invalid_token')
      request.apiKey = identity

      if (request.is404) return
      const required = access ?? UNDECLARED_ROUTE_SCOPE
      if (!grants(identity.scopes, required)) {
        reply.header('www-authenticate', `${REALM}, error="insufficient_scope", scope="${required}"`)
        throw httpError(
          'forbidden',
          `The API key lacks the ${required} scope needed for ${routeName(request)}`,
          { required_scope: required },
        )
      }
    })
  },
  { name: 'seqserve-auth', dependencies: ['seqserve-config'] },
)
