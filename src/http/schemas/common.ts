import {
  Type,
  type Static,
  type TObject,
  type TProperties,
  type TSchema,
  type TSchemaOptions,
  type TUnion,
} from 'typebox'
import { ERROR_CATALOGUE, ERROR_CODES, reasonPhrase, type ErrorCode } from '../errors.js'
import { errorExample } from './error-examples.js'

/**
 * Shared schema building blocks for route files.
 *
 * Conventions (checked at start by plugins/route-conventions.ts):
 * - request objects are closed: build them with `StrictObject`, so a misspelt field is a
 *   400 `unknown_field` instead of being ignored;
 * - every operation has a unique `operationId` (camelCase verb + resource: `getJob`), the
 *   method name of generated clients;
 * - success responses are named (`jsonResponse`, `contentResponse`, `noContent`) and
 *   declare the headers they carry (`RESPONSE_HEADERS`); every route lists its error
 *   responses with `errorResponses(...)`;
 * - a request field with a `default` is optional for clients (the document says so;
 *   handlers see it filled in);
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

/** Keywords that limit what a client may send, not what the server stores. */
const REQUEST_ONLY_KEYWORDS = new Set([
  'default', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength',
  'minItems', 'maxItems', 'pattern', 'examples',
])

function stored(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(stored)
  if (typeof schema !== 'object' || schema === null) return schema
  return storedObject(schema as Record<string, unknown>)
}

function storedObject(schema: Record<string, unknown>): Record<string, unknown> {
  const copy: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(schema)) {
    if (REQUEST_ONLY_KEYWORDS.has(key)) continue
    copy[key] = key === 'const' || key === 'enum' ? value : stored(value)
  }
  // Required once stored: what the request required plus what has a default (the server
  // fills it in). A truly optional field (no default) stays optional.
  const properties = copy.properties
  if (typeof properties === 'object' && properties !== null) {
    const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : [])
    for (const [name, property] of Object.entries(schema.properties as Record<string, object>)) {
      if (typeof property === 'object' && property !== null && 'default' in property) required.add(name)
    }
    copy.required = Object.keys(properties).filter((name) => required.has(name))
    if ((copy.required as string[]).length === 0) delete copy.required
  }
  return copy
}

/**
 * A request object schema as the server echoes it back (e.g. a job's `model`): fields with
 * defaults become required because the server fills them in, and request limits go, as they
 * may change between when a job was submitted and when it is read.
 */
export function storedShape<T extends TObject>(schema: T, description: string) {
  return Type.Unsafe<Static<T>>({ ...(stored(schema) as object), description })
}

/** The `default` of every property of an object schema that has one. */
export function defaultsOf(schema: TObject): Record<string, unknown> {
  const defaults: Record<string, unknown> = {}
  for (const [name, property] of Object.entries(schema.properties)) {
    if ('default' in property) defaults[name] = structuredClone(property.default)
  }
  return defaults
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
    examples: [errorExample('job_not_found')],
  },
)

/** Schemas registered with `app.addSchema` so routes can `$ref` them (plugins/shared-schemas.ts). */
export const sharedSchemas: TSchema[] = [ErrorResponse]

/** A `$ref` to ErrorResponse, typed as ErrorBody for reply.send. */
export function ErrorResponseRef(description?: string) {
  return Type.Unsafe<Static<typeof ErrorResponse>>({ $ref: 'ErrorResponse', ...(description === undefined ? {} : { description }) })
}

// ---------------------------------------------------------------------------------------
// Responses. A route's `schema.response` maps each status to a *named* response: a
// description, the headers it carries and its body per media type. Build them with these
// helpers so /openapi.json says what a client really gets:
//
//   response: {
//     200: jsonResponse('The job', JobRef),
//     202: jsonResponse('Queued', JobRef, { headers: { Location: RESPONSE_HEADERS.Location } }),
//     204: noContent('Deleted'),
//     ...errorResponses(400, 404),
//   }
//
// fastify serialises by the `content` entry matching the reply's content type, and the
// type provider types `reply.send` from it.
// ---------------------------------------------------------------------------------------

/** Response headers the server sets, declared once so every route documents them alike. */
export const RESPONSE_HEADERS = {
  Location: Type.String({ description: 'URL of the created or affected resource', examples: ['/jobs/4f6c1c8e-5c1b-4b55-9a55-5a6c1f0f2b7a'] }),
  'Idempotent-Replayed': Type.Literal('true', { description: 'Present when an Idempotency-Key replay returned an existing job' }),
  'Retry-After': Type.Integer({ minimum: 0, description: 'Seconds to wait before retrying' }),
  'WWW-Authenticate': Type.String({ description: 'RFC 6750 Bearer challenge, e.g. `Bearer realm="seqserve", error="invalid_token"`' }),
  'X-RateLimit-Limit': Type.Integer({ minimum: 0, description: "Requests allowed per minute in this route group for this client" }),
  'X-RateLimit-Remaining': Type.Integer({ minimum: 0, description: 'Requests left in the current window' }),
  'X-RateLimit-Reset': Type.Integer({ minimum: 0, description: 'Seconds until the window resets' }),
  'Content-Disposition': Type.String({ description: 'Suggested file name of a download' }),
  Link: Type.String({ description: 'RFC 8288 `<url>; rel="next"` link to the next page; absent on the last page' }),
  'X-Request-Id': Type.String({ description: "The request's id in the server's logs (the client's own X-Request-Id when it sent a usable one)" }),
} satisfies Record<string, TSchema>

export type ResponseHeaders = Partial<Record<keyof typeof RESPONSE_HEADERS, TSchema>>

/** Media types the API answers with besides JSON. */
export const MEDIA_TYPES = {
  json: 'application/json',
  csv: 'text/csv',
  /** Prometheus exposition format 0.0.4 (`text/plain; version=0.0.4`). */
  prometheus: 'text/plain',
} as const

interface ResponseOptions {
  headers?: ResponseHeaders
}

function withHeaders(options: ResponseOptions) {
  return options.headers === undefined ? {} : { headers: options.headers }
}

/** A named JSON response: `200: jsonResponse('The job', JobRef)`. */
export function jsonResponse<T extends TSchema>(description: string, schema: T, options: ResponseOptions = {}) {
  return { description, ...withHeaders(options), content: { [MEDIA_TYPES.json]: { schema } } as { 'application/json': { schema: T } } }
}

/**
 * A named response with a body per media type, e.g. JSON or CSV:
 * `200: contentResponse('Loss history', { 'application/json': { schema: Losses }, 'text/csv': { schema: CsvText } })`.
 */
export function contentResponse<Content extends Record<string, { schema: TSchema }>>(description: string, content: Content, options: ResponseOptions = {}) {
  return { description, ...withHeaders(options), content }
}

/** A named response without a body (204), with the headers it carries. */
export function noContent(description: string, options: { headers?: Record<string, TSchema> } = {}) {
  return Type.Null({ description, ...(options.headers === undefined ? {} : { headers: options.headers }) })
}

type ErrorStatus = (typeof ERROR_CATALOGUE)[ErrorCode]['statusCode']

/** Headers every error response of a status carries. */
const ERROR_HEADERS: Partial<Record<ErrorStatus, ResponseHeaders>> = {
  401: { 'WWW-Authenticate': RESPONSE_HEADERS['WWW-Authenticate'] },
  403: { 'WWW-Authenticate': RESPONSE_HEADERS['WWW-Authenticate'] },
  429: { 'Retry-After': RESPONSE_HEADERS['Retry-After'] },
  503: { 'Retry-After': RESPONSE_HEADERS['Retry-After'] },
  507: { 'Retry-After': RESPONSE_HEADERS['Retry-After'] },
}

/** The catalogue codes answered with a status. */
export function errorCodesOf(status: number): ErrorCode[] {
  return ERROR_CODES.filter((code) => ERROR_CATALOGUE[code].statusCode === status)
}

/** One named error response: the catalogue codes behind the status and an example of each. */
export function errorResponse(status: ErrorStatus) {
  const codes = errorCodesOf(status)
  const examples = Object.fromEntries(codes.map((code) => [code, { summary: ERROR_CATALOGUE[code].message, value: errorExample(code) }]))
  return {
    description: `${reasonPhrase(status)}: ${codes.map((code) => `\`${code}\``).join(', ')}`,
    ...withHeaders({ headers: ERROR_HEADERS[status] }),
    content: { [MEDIA_TYPES.json]: { schema: ErrorResponseRef(), examples } } as { 'application/json': { schema: ReturnType<typeof ErrorResponseRef> } },
  }
}

/**
 * Response entries for the error statuses a route can return, each described by the
 * catalogue codes behind it with one example per code, e.g. `errorResponses(400, 404)` ->
 * 400 (`validation_failed`, `unknown_field`, ...) and 404 (`not_found`, `job_not_found`,
 * `model_not_found`). Spread it into `schema.response` next to the success responses.
 * 401/403/429/503 are added from the route's config (openapi-route-policies.ts).
 */
export function errorResponses<const Statuses extends readonly ErrorStatus[]>(...statuses: Statuses) {
  const responses = {} as Record<Statuses[number], ReturnType<typeof errorResponse>>
  for (const status of statuses) responses[status as Statuses[number]] = errorResponse(status)
  return responses
}
