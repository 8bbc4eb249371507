/**
 * A request field that has a `default` is optional for a client: Ajv fills it in
 * (`useDefaults`) before the handler runs, so the handler may rely on it, but a client that
 * omits it sends a valid request. TypeBox marks every non-`Optional` property required, so
 * /openapi.json would demand `num_layers`, `limit`, `format`... of every request; this copy
 * of a request schema drops defaulted properties from `required`, for the document only.
 */

type JsonSchema = Record<string, unknown>

const isSchema = (value: unknown): value is JsonSchema =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

export function optionalDefaults<T>(schema: T): T {
  if (Array.isArray(schema)) return schema.map(optionalDefaults) as T
  if (!isSchema(schema)) return schema
  const copy: JsonSchema = {}
  for (const [key, value] of Object.entries(schema)) {
    // `default`, `examples` and `const` hold data, not subschemas.
    copy[key] = key === 'default' || key === 'examples' || key === 'const' || key === 'enum' ? value : optionalDefaults(value)
  }
  const properties = copy.properties
  if (isSchema(properties) && Array.isArray(copy.required)) {
    const required = (copy.required as string[]).filter((name) => !(isSchema(properties[name]) && 'default' in properties[name]))
    if (required.length > 0) copy.required = required
    else delete copy.required
  }
  return copy as T
}

/** The parts of a fastify route schema that describe the request. */
export const REQUEST_PARTS = ['body', 'querystring', 'params', 'headers'] as const
