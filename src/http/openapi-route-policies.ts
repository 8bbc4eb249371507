import type { FastifyContextConfig } from 'fastify'
import { PUBLIC, UNDECLARED_ROUTE_SCOPE } from './auth/scopes.js'
import { errorResponses } from './schemas/common.js'
import { v2ErrorResponses } from './v2/schemas.js'

/**
 * Documents in /openapi.json what a route's config declares to the protection plugins:
 * its security requirement (the scope, from `config.scope`) and the error responses those
 * plugins may answer with (401/403 from auth, 429 from rate limits, 503 from load
 * shedding), so route files do not repeat them.
 */

/** Name of the security scheme in `components.securitySchemes`. */
export const SECURITY_SCHEME_NAME = 'apiKey'

export const SECURITY_SCHEMES = {
  [SECURITY_SCHEME_NAME]: {
    type: 'http' as const,
    scheme: 'bearer',
    description:
      'An API key from API_KEYS, sent as `Authorization: Bearer <key>`. Each operation lists the scope it needs; ' +
      'a key with `admin` may call every operation. Enforced only when the server has API keys configured.',
  },
}

type Schema = Record<string, unknown> & { hide?: boolean; response?: Record<string, unknown>; description?: string }

function byStatus(responses: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })))
}

/** The `transform` of @fastify/swagger: returns the documented schema of one route. */
export function documentRoutePolicies(schema: Schema | undefined, config: FastifyContextConfig | undefined): Schema | undefined {
  if (schema === undefined || schema.hide) return schema
  const scope = config?.scope
  // Open Inference Protocol routes answer errors in the protocol's shape.
  const errors = config?.errorShape === 'open-inference' ? v2ErrorResponses : errorResponses
  const added: Record<string, unknown> = {}
  let security: Record<string, string[]>[] = []
  let description = schema.description
  if (scope !== PUBLIC) {
    const required = scope ?? UNDECLARED_ROUTE_SCOPE
    // OpenAPI 3.1 lets a non-OAuth requirement list role names: here, the scope.
    security = [{ [SECURITY_SCHEME_NAME]: [required] }]
    const note = `Needs an API key with the \`${required}\` scope (or \`admin\`).`
    description = description ? `${description}\n\n${note}` : note
    Object.assign(added, errors(401, 403))
  }
  if (config?.rateLimitGroup !== undefined) Object.assign(added, errors(429))
  if (config?.loadShedding !== false) Object.assign(added, errors(503))
  const response = byStatus({ ...added, ...schema.response })
  return { ...schema, ...(description === undefined ? {} : { description }), security, response }
}
