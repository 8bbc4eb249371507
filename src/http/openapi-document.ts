import { join } from 'node:path'
import { loadConfig } from '../config.js'
import { findProjectRoot } from './package-info.js'

/** Where the committed OpenAPI document lives, relative to the project root. */
export const OPENAPI_FILE = join('openapi', 'openapi.json')

export function openApiFilePath(root = findProjectRoot()): string {
  return join(root, OPENAPI_FILE)
}

/** The committed file's exact text for a document: 2-space JSON plus a trailing newline. */
export function formatOpenApi(document: unknown): string {
  return `${JSON.stringify(document, null, 2)}\n`
}

/**
 * The configuration the committed document is generated with: defaults only, never the
 * caller's environment, so `npm run openapi` writes the same bytes on every machine.
 * Limits appear in the schemas (e.g. `maximum` on hidden_size), so a server started with
 * different limits serves a correspondingly different /openapi.json, by design.
 */
export function openApiConfig() {
  return loadConfig({ DATABASE_PATH: ':memory:', LOG_LEVEL: 'silent', WORKERS: '1' })
}
