import type { RouteOptions } from 'fastify'
import fp from 'fastify-plugin'

/**
 * Fails app start-up when a documented route breaks the API conventions, so a forgotten
 * schema is caught by the first test rather than by a client:
 * - it has an `operationId` (unique in the app: generated clients name methods after it),
 *   `summary`, `tags` and `response` schemas (they feed /openapi.json);
 * - every response is named: it has a `description` (build it with `jsonResponse`,
 *   `contentResponse`, `noContent`, `errorResponses` from schemas/common.ts);
 * - every object in its body, querystring and params schemas says what to do with
 *   unknown properties (`additionalProperties`), because the issue demands that misspelt
 *   fields are 400s, and Ajv is configured never to strip them silently.
 * Routes with `schema.hide` (docs assets) are exempt.
 */

type JsonSchema = Record<string, unknown>

const SUBSCHEMA_LISTS = ['anyOf', 'oneOf', 'allOf', 'prefixItems'] as const
const SUBSCHEMA_SINGLES = ['items', 'additionalProperties', 'not', 'if', 'then', 'else'] as const

function isSchema(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** JSON-pointer-ish paths of object schemas with properties but no additionalProperties. */
export function findOpenObjects(schema: unknown, path: string): string[] {
  if (!isSchema(schema)) return []
  const found: string[] = []
  const properties = schema.properties
  if (isSchema(properties)) {
    if (schema.additionalProperties === undefined && schema.patternProperties === undefined) {
      found.push(path)
    }
    for (const [name, child] of Object.entries(properties)) {
      found.push(...findOpenObjects(child, `${path}/${name}`))
    }
  }
  for (const key of SUBSCHEMA_LISTS) {
    const list = schema[key]
    if (Array.isArray(list)) list.forEach((child) => found.push(...findOpenObjects(child, path)))
  }
  for (const key of SUBSCHEMA_SINGLES) {
    const child = schema[key]
    if (isSchema(child)) found.push(...findOpenObjects(child, key === 'items' ? `${path}/items` : path))
  }
  return found
}

export function conventionViolations(route: Pick<RouteOptions, 'method' | 'url' | 'schema'>): string[] {
  const schema = route.schema as (JsonSchema & { hide?: boolean }) | undefined
  if (schema?.hide) return []
  if (!schema) return ['has no schema']

  const problems: string[] = []
  if (typeof schema.operationId !== 'string' || !/^[a-z][A-Za-z0-9]*$/.test(schema.operationId)) {
    problems.push('has no camelCase operationId')
  }
  if (typeof schema.summary !== 'string' || schema.summary === '') problems.push('has no summary')
  if (!Array.isArray(schema.tags) || schema.tags.length === 0) problems.push('has no tags')
  if (!isSchema(schema.response) || Object.keys(schema.response).length === 0) {
    problems.push('has no response schemas')
  } else {
    for (const [status, response] of Object.entries(schema.response)) {
      if (!isSchema(response) || typeof response.description !== 'string' || response.description === '') {
        problems.push(`response ${status} has no description (use jsonResponse/contentResponse/noContent)`)
      }
    }
  }
  for (const part of ['body', 'querystring', 'params'] as const) {
    for (const path of findOpenObjects(schema[part], part)) {
      problems.push(`${path} allows unknown properties (use StrictObject or set additionalProperties)`)
    }
  }
  return problems
}

export default fp(
  async (app) => {
    const operationIds = new Map<string, string>()
    app.addHook('onRoute', (route) => {
      // HEAD routes are fastify's automatic twins of GET routes.
      if (route.method === 'HEAD') return
      const problems = conventionViolations(route)
      const operationId = (route.schema as JsonSchema | undefined)?.operationId
      const name = `${String(route.method)} ${route.url}`
      if (typeof operationId === 'string') {
        const owner = operationIds.get(operationId)
        if (owner !== undefined && owner !== name) problems.push(`operationId ${operationId} is already used by ${owner}`)
        operationIds.set(operationId, name)
      }
      if (problems.length > 0) {
        throw new Error(`Route ${String(route.method)} ${route.url}: ${problems.join('; ')}`)
      }
    })
  },
  { name: 'seqserve-route-conventions' },
)
