import {
  Type,
  type Static,
  type TObject,
  type TProperties,
  type TSchema,
  type TSchemaOptions,
  type TUnion,
} from 'typebox'
import { ERROR_CATALOGUE, ERROR_CODES, reasonPhrase, type ErrorBody, type ErrorCode } from '../errors.js'

/**
 * Shared schema building blocks for route files.
 *
 * Conventions (checked at start by plugins/route-conventions.ts):
 * - request objects are closed: build them with `StrictObject`, so a misspelt field is a
 *   400 `unknown_field` instead of being ignored;
 * - every route lists its error responses with `errorResponses(...)`;
 * - schemas carry `examples` (they become the examples in /docs).
 */

/** An object schema that rejects unknown properties. */
export function StrictObject<Properties extends TProperties>(
  properties: Properties,
  options: TSchemaOptions = {},
): TObject<Properties> {
  return Type.Object(properties, { ...options, additionalProperties: false })
}

/**
 * A default that respects a configured limit: an operator who lowers MAX_HIDDEN_SIZE to 16
 * must not turn every request that omits hidden_size into "hidden_size must be <= 16".
 */
export function defaultWithin(preferred: number, limit: number): number {
  return Math.min(preferred, limit)
}

/** `T | null` */
export function Nullable<T extends TSchema>(schema: T, options: TSchemaOptions = {}) {
  return Type.Union([schema, Type.Null()], options)
}

/**
 * A union of object schemas selected by a tag property, e.g. the job `data` field:
 * `TaggedUnion('type', [PairsData, TextData, SeriesData, ClassesData])`.
 *
 * Emits `oneOf` + OpenAPI `discriminator`: Ajv then validates only the branch named by
 * the tag, so errors read `body/data/seq_len must be <= 1024` instead of one complaint
 * per branch, and an unknown tag reads `body/data/type must be one of "pairs", "text"`.
 * Each branch must declare the tag as a required literal (`Type.Literal('pairs')`).
 */
export function TaggedUnion<Branches extends TObject[]>(
  tag: string,
  branches: [...Branches],
  options: TSchemaOptions = {},
) {
  return Type.Unsafe<Static<TUnion<Branches>>>({
    ...options,
    type: 'object',
    required: [tag],
    oneOf: branches,
    discriminator: { propertyName: tag },
  })
}

const notFoundExample: ErrorBody = {
  statusCode: 404,
  code: 'job_not_found',
  error: 'Not Found',
  message: 'No job with id 01J9Z3V4K6TQ8M2X5C7B9D1F3H',
}

/** The body of every error response; registered once as the `ErrorResponse` component. */
export const ErrorResponse = Type.Object(
  {
    statusCode: Type.Integer({ description: 'HTTP status code, repeated for convenience', examples: [404] }),
    code: Type.Enum(ERROR_CODES, {
      description: 'Stable machine-readable error code; switch on this, not on `message`',
      examples: ['job_not_found'],
    }),
    error: Type.String({ description: 'HTTP reason phrase', examples: ['Not Found'] }),
    message: Type.String({
      description: 'What went wrong, for humans; names the offending field or limit',
      examples: ['No job with id 01J9Z3V4K6TQ8M2X5C7B9D1F3H'],
    }),
    details: Type.Optional(
      Type.Unknown({ description: 'Structured extras, e.g. `problems` for validation errors' }),
    ),
  },
  {
    $id: 'ErrorResponse',
    title: 'ErrorResponse',
    description: 'The one shape of every error response',
    additionalProperties: false,
    examples: [notFoundExample],
  },
)

/** Schemas registered with `app.addSchema` so routes can `$ref` them (plugins/shared-schemas.ts). */
export const sharedSchemas: TSchema[] = [ErrorResponse]

/** A `$ref` to ErrorResponse, typed as ErrorBody for reply.send. */
export function ErrorResponseRef(description: string) {
  return Type.Unsafe<Static<typeof ErrorResponse>>({ $ref: 'ErrorResponse', description })
}

type ErrorStatus = (typeof ERROR_CATALOGUE)[ErrorCode]['statusCode']

/**
 * Response entries for the error statuses a route can return, each described by the
 * catalogue codes behind it, e.g. `errorResponses(400, 404)` -> 400 (`validation_failed`,
 * `unknown_field`, ...) and 404 (`not_found`, `job_not_found`, `model_not_found`).
 * Spread it into `schema.response` next to the success responses.
 */
export function errorResponses<const Statuses extends readonly ErrorStatus[]>(...statuses: Statuses) {
  const responses = {} as Record<Statuses[number], ReturnType<typeof ErrorResponseRef>>
  for (const status of statuses) {
    const codes = ERROR_CODES.filter((code) => ERROR_CATALOGUE[code].statusCode === status)
    const description = `${reasonPhrase(status)}: ${codes.map((code) => `\`${code}\``).join(', ')}`
    responses[status as Statuses[number]] = ErrorResponseRef(description)
  }
  return responses
}
