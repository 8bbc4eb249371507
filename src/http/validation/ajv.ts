import { Ajv, type AnySchema, type ErrorObject, type Options, type ValidateFunction } from 'ajv'
import * as ajvFormatsModule from 'ajv-formats'
import type { FastifyServerOptions } from 'fastify'

/**
 * Request validation with two Ajv instances, picked per HTTP part:
 *
 * - body: no type coercion. A JSON client sending `"hidden_size": "8"` has a bug we
 *   should report, not paper over.
 * - querystring / params / headers: `coerceTypes: 'array'`, because everything there
 *   arrives as a string (`?limit=20`) and a repeated key may be one value or many.
 *
 * Shared settings: unknown properties are errors, never silently removed
 * (`removeAdditional: false`, with `additionalProperties: false` in the schemas);
 * every error is reported at once (`allErrors`) so a client fixes a request in one round
 * trip; schema defaults are filled in (`useDefaults`); `discriminator` lets tagged unions
 * (see `TaggedUnion` in schemas/common.ts) validate only the branch the tag selects.
 *
 * allErrors costs more on pathological bodies; the body size limit bounds that, and the
 * error formatter only renders the first few errors.
 */

type BuildValidator = NonNullable<
  NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildValidator']
>

const sharedOptions: Options = {
  allErrors: true,
  removeAdditional: false,
  useDefaults: true,
  discriminator: true,
  // Errors carry their schema, so messages can list the allowed tags of a union.
  verbose: true,
  // Compiling a route schema must not register its $id globally (fastify does the same).
  addUsedSchema: false,
  // OpenAPI's singular `example` is documentation only; JSON Schema's `examples` is built in.
  keywords: ['example'],
}

// ajv-formats is CommonJS; depending on the loader its plugin sits on .default or not.
const addFormats = ((ajvFormatsModule as unknown as { default?: unknown }).default ??
  ajvFormatsModule) as unknown as (ajv: Ajv) => Ajv

function createAjv(options: Options, externalSchemas: Record<string, unknown>): Ajv {
  const ajv = new Ajv({ ...sharedOptions, ...options })
  addFormats(ajv)
  for (const schema of Object.values(externalSchemas)) ajv.addSchema(schema as AnySchema)
  return ajv
}

function compileWith(ajv: Ajv, schema: AnySchema) {
  // A schema with an $id may already be known (shared via addSchema): compiling it again
  // would throw "schema with key or id already exists".
  const id = typeof schema === 'object' && schema !== null ? schema.$id : undefined
  if (typeof id === 'string') {
    const existing = ajv.getSchema(id)
    if (existing) return existing
  }
  return ajv.compile(schema)
}

/** True when `data` holds a number that is not finite (checked on every request: allocates nothing). */
function hasNonFinite(data: unknown): boolean {
  if (typeof data === 'number') return !Number.isFinite(data)
  if (data === null || typeof data !== 'object') return false
  if (Array.isArray(data)) {
    for (const value of data) if (hasNonFinite(value)) return true
    return false
  }
  for (const key in data) if (Object.hasOwn(data, key) && hasNonFinite((data as Record<string, unknown>)[key])) return true
  return false
}

/** JSON pointers of the numbers in `data` that are not finite. */
function nonFiniteNumbers(data: unknown, path = ''): string[] {
  if (typeof data === 'number') return Number.isFinite(data) ? [] : [path]
  if (data === null || typeof data !== 'object') return []
  return Object.entries(data).flatMap(([key, value]) => nonFiniteNumbers(value, `${path}/${key}`))
}

/**
 * Ajv's coercion turns the strings "Infinity", "-Infinity" and "1e999" into non-finite
 * numbers that pass `type: integer` and skip `minimum`/`maximum` (ajv-validator/ajv#2212,
 * fastify/fastify#6718): `?horizon=Infinity` would reach the route and forecast forever.
 * Strings only become numbers through coercion here, so any non-finite number left after
 * validation is such a string, reported like Ajv's own type error.
 */
function rejectCoercedNonFinite(validate: ValidateFunction): ValidateFunction {
  const checked = function (this: unknown, data: unknown, context?: unknown) {
    const valid = validate.call(this, data, context as never)
    checked.errors = validate.errors
    if (!hasNonFinite(data)) return valid
    const paths = nonFiniteNumbers(data)
    checked.errors = [
      ...(validate.errors ?? []),
      ...paths.map((instancePath): ErrorObject => ({
        keyword: 'type', instancePath, schemaPath: '#', params: { type: 'number' }, message: 'must be a finite number',
      })),
    ]
    return false
  } as ValidateFunction
  // fastify passes parentData (so Ajv can coerce a root value) only to functions with schemaEnv.
  checked.schemaEnv = validate.schemaEnv
  checked.schema = validate.schema
  return checked
}

/** Fastify `schemaController.compilersFactory.buildValidator`. */
export const buildValidator: BuildValidator = (externalSchemas) => {
  const schemas = (externalSchemas ?? {}) as Record<string, unknown>
  const bodyAjv = createAjv({ coerceTypes: false }, schemas)
  const stringlyAjv = createAjv({ coerceTypes: 'array' }, schemas)
  return ({ schema, httpPart }) =>
    httpPart === 'body'
      ? compileWith(bodyAjv, schema as AnySchema)
      : rejectCoercedNonFinite(compileWith(stringlyAjv, schema as AnySchema))
}
