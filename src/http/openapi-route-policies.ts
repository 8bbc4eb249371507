import type { FastifyContextConfig } from 'fastify'
import { Type } from 'typebox'
import { PUBLIC, UNDECLARED_ROUTE_SCOPE } from './auth/scopes.js'
import { REQUEST_PARTS, optionalDefaults } from './openapi-request-defaults.js'
import { RESPONSE_HEADERS, errorResponses } from './schemas/common.js'
import { v2ErrorResponses } from './v2/schemas.js'

/**
 * Documents in /openapi.json what a route's config declares to the protection plugins:
 * its security requirement (the scope, from `config.scope`), the error responses those
 * plugins may answer with (401/403 from auth, 429 from rate limits, 503 from load
 * shedding) and the rate-limit headers, so route files do not repeat them. Request fields
 * with defaults are documented as optional (openapi-request-defaults.ts).
 */

/** Name of the security scheme in `components.securitySchemes`. */
export const SECURITY_SCHEME_NAME = 'apiKey'

export function securitySchemes(keysRequired: boolean) {
  const mode = keysRequired
    ? 'This server has API keys configured: every operation but the probes needs one.'
    : 'This server runs open (no API_KEYS configured): a key is accepted but not needed. Configure API_KEYS to require one.'
  return {
    [SECURITY_SCHEME_NAME]: {
      type: 'http' as const,
      scheme: 'bearer',
      description:
        'An API key from API_KEYS, sent as `Authorization: Bearer <key>`. Each operation names the scope it needs ' +
        '(`x-required-scope`); a key with `admin` may call every operation. ' + mode,
    },
  }
}

type Schema = Record<string, unknown> & { hide?: boolean; response?: Record<string, unknown>; description?: string }

function byStatus(responses: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })))
}

const RATE_LIMIT_HEADERS = {
  'X-RateLimit-Limit': RESPONSE_HEADERS['X-RateLimit-Limit'],
  'X-RateLimit-Remaining': RESPONSE_HEADERS['X-RateLimit-Remaining'],
  'X-RateLimit-Reset': RESPONSE_HEADERS['X-RateLimit-Reset'],
}

/** Adds `headers` to the responses whose status passes `applies`. */
function withHeaders(responses: Record<string, unknown>, headers: Record<string, unknown>, applies: (status: string) => boolean = () => true) {
  return Object.fromEntries(Object.entries(responses).map(([status, response]) => {
    if (!applies(status) || typeof response !== 'object' || response === null) return [status, response]
    const named = response as { headers?: Record<string, unknown> }
    return [status, { ...named, headers: { ...headers, ...named.headers } }]
  }))
}

/** Every request may name itself (plugins/request-id.ts); its id comes back in every response. */
const REQUEST_ID_HEADER = Type.Object({
  'x-request-id': Type.Optional(Type.String({ description: 'An id for this request in the server logs: up to 128 letters, digits and _.:=+/- (a fresh one when absent or unusable)' })),
})

function withRequestIdHeader(headers: unknown): unknown {
  const existing = (headers ?? { type: 'object', properties: {} }) as { properties?: Record<string, unknown> }
  return { ...existing, properties: { ...REQUEST_ID_HEADER.properties, ...existing.properties } }
}

/** The `transform` of @fastify/swagger: returns the documented schema of one route. */
export function documentRoutePolicies(schema: Schema | undefined, config: FastifyContextConfig | undefined, keysRequired: boolean): Schema | undefined {
  if (schema === undefined || schema.hide) return schema
  const documented: Schema = { ...schema }
  for (const part of REQUEST_PARTS) if (schema[part] !== undefined) documented[part] = optionalDefaults(schema[part])

  const scope = config?.scope
  // Open Inference Protocol routes answer errors in the protocol's shape.
  const errors = config?.errorShape === 'open-inference' ? v2ErrorResponses : errorResponses
  const added: Record<string, unknown> = {}
  let security: Record<string, string[]>[] = []
  if (scope !== PUBLIC) {
    const required = scope ?? UNDECLARED_ROUTE_SCOPE
    // An empty requirement ({}) makes the key optional: the server is open until API_KEYS is set.
    security = keysRequired ? [{ [SECURITY_SCHEME_NAME]: [] }] : [{ [SECURITY_SCHEME_NAME]: [] }, {}]
    documented['x-required-scope'] = required
    const note = `With API keys configured, needs a key with the \`${required}\` scope (or \`admin\`).`
    documented.description = schema.description ? `${schema.description}\n\n${note}` : note
    Object.assign(added, errors(401, 403))
  }
  if (config?.rateLimitGroup !== undefined) Object.assign(added, errors(429))
  if (config?.loadShedding !== false) Object.assign(added, errors(503))
  let response = byStatus({ ...added, ...schema.response })
  // Every counted response of a rate-limited route carries the budget headers (not 401/403: never counted).
  if (config?.rateLimitGroup !== undefined) response = withHeaders(response, RATE_LIMIT_HEADERS, (status) => status !== '401' && status !== '403')
  response = withHeaders(response, { 'X-Request-Id': RESPONSE_HEADERS['X-Request-Id'] })
  documented.headers = withRequestIdHeader(documented.headers)
  return { ...documented, security, response }
}
