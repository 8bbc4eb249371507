import { ServingError } from '../serving/errors.js'
import { type AppError, httpError } from './errors.js'
import { registryHttpError } from './presenters/model-export.js'

/**
 * A serving refusal as the API's error (same code), with Retry-After when the service said
 * when to retry; the registry's refusals (model, version or alias not found) as
 * withRegistryErrors answers them.
 */
export function servingHttpError(err: unknown): unknown {
  if (!(err instanceof ServingError)) return registryHttpError(err)
  const error: AppError & { headers?: Record<string, string> } = httpError(err.code, err.message, err.details)
  if (err.retryAfterS !== undefined) error.headers = { 'retry-after': String(err.retryAfterS) }
  return error
}

/** Runs a serving call and rethrows its refusals as API errors. */
export async function served<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (err) {
    throw servingHttpError(err)
  }
}
