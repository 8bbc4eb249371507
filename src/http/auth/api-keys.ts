import { createHash, timingSafeEqual } from 'node:crypto'
import { inspect } from 'node:util'
import { SCOPES, isScope, type Scope } from './scopes.js'

/**
 * The configured API keys and the constant-time lookup of a presented one.
 *
 * Secrets never leave this file: a key is known elsewhere only by its id (`key-1`,
 * `key-2`, ... in the order of the JSON object), which is safe to log and is what the rate
 * limiter counts by. The table also refuses to print itself, so logging a Config object
 * by mistake leaks nothing.
 */

/** Who a request authenticated as: never the secret itself. */
export interface ApiKeyIdentity {
  /** `key-<n>`, the key's 1-based position in API_KEYS. */
  readonly id: string
  readonly scopes: ReadonlySet<Scope>
}

interface Entry {
  digest: Buffer
  identity: ApiKeyIdentity
}

/**
 * Bearer tokens may only carry these characters (RFC 6750 `b64token`); a key outside them
 * could never be sent, so it is rejected at start rather than failing every request.
 */
const BEARER_TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/

/** Shorter keys are guessable; `openssl rand -hex 32` gives 64 characters. */
export const MIN_KEY_LENGTH = 16

const digest = (key: string): Buffer => createHash('sha256').update(key, 'utf8').digest()

export class ApiKeyTable {
  /** No keys: the service is open. */
  static readonly NONE = new ApiKeyTable([])

  readonly #entries: readonly Entry[]

  private constructor(entries: readonly Entry[]) {
    this.#entries = entries
  }

  /** Builds a table from already validated keys (see `parseApiKeys` for untrusted input). */
  static of(keys: Iterable<readonly [key: string, scopes: Iterable<Scope>]>): ApiKeyTable {
    const entries: Entry[] = []
    for (const [key, scopes] of keys) {
      entries.push({ digest: digest(key), identity: { id: `key-${entries.length + 1}`, scopes: new Set(scopes) } })
    }
    return new ApiKeyTable(entries)
  }

  get size(): number {
    return this.#entries.length
  }

  /** Ids and scopes of every key, for the start-up log line. */
  identities(): ApiKeyIdentity[] {
    return this.#entries.map((entry) => entry.identity)
  }

  /**
   * The identity of a presented key, or undefined. Both sides are hashed to 32 bytes so
   * `timingSafeEqual` sees equal lengths, and every key is compared (no early exit), so
   * the time taken says nothing about which key, or how much of one, was right.
   */
  identify(presented: string): ApiKeyIdentity | undefined {
    const candidate = digest(presented)
    let found: ApiKeyIdentity | undefined
    for (const entry of this.#entries) {
      if (timingSafeEqual(candidate, entry.digest)) found = entry.identity
    }
    return found
  }

  toJSON(): string {
    return `[${this.size} API keys, redacted]`
  }

  [inspect.custom](): string {
    return `ApiKeyTable { ${this.size} keys, redacted }`
  }
}

export type ParsedApiKeys = { ok: true; keys: ApiKeyTable } | { ok: false; issues: string[] }

const FORMAT = '{"<key>": ["<scope>", ...]}'

/**
 * Parses the API_KEYS JSON. `source` names where it came from in every issue
 * (`API_KEYS`, or `API_KEYS_FILE (/run/secrets/keys.json)`). Issues refer to keys by
 * position, never by content, because they end up in logs.
 */
export function parseApiKeys(text: string, source: string): ParsedApiKeys {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    // JSON.parse's own message quotes the input, which may be a key: do not pass it on.
    return { ok: false, issues: [`${source} is not valid JSON: expected ${FORMAT}`] }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { ok: false, issues: [`${source} must be a JSON object ${FORMAT}`] }
  }
  const pairs = Object.entries(parsed)
  if (pairs.length === 0) {
    // An empty secret mount must not silently turn the service open.
    return { ok: false, issues: [`${source} holds no keys; unset it to run without API keys`] }
  }

  const issues: string[] = []
  const keys: [string, Scope[]][] = []
  pairs.forEach(([key, scopes], index) => {
    const which = `${source} key #${index + 1}`
    const before = issues.length
    if (key.trim() === '') issues.push(`${which} is empty`)
    else if (!BEARER_TOKEN.test(key)) {
      issues.push(`${which} has characters a Bearer token cannot carry (allowed: A-Z a-z 0-9 - . _ ~ + / and trailing =)`)
    } else if (key.length < MIN_KEY_LENGTH) {
      issues.push(`${which} is shorter than ${MIN_KEY_LENGTH} characters; generate one with \`openssl rand -hex 32\``)
    }
    if (!Array.isArray(scopes) || scopes.length === 0) {
      issues.push(`${which} must map to a non-empty list of scopes (${SCOPES.join(', ')})`)
    } else {
      for (const scope of scopes) {
        if (!isScope(scope)) {
          const shown = typeof scope === 'string' ? JSON.stringify(scope.slice(0, 40)) : JSON.stringify(typeof scope)
          issues.push(`${which} has unknown scope ${shown}: allowed are ${SCOPES.join(', ')}`)
        }
      }
    }
    if (issues.length === before) keys.push([key, scopes as Scope[]])
  })
  return issues.length > 0 ? { ok: false, issues } : { ok: true, keys: ApiKeyTable.of(keys) }
}
