/**
 * Reads `Authorization: Bearer <key>` (RFC 6750 section 2.1). The scheme is
 * case-insensitive; the token is one b64token with nothing after it.
 */

export type BearerCredentials =
  | { kind: 'missing' }
  | { kind: 'malformed' }
  | { kind: 'token'; token: string }

// Generous for any sane key; a longer header is not a key we issued, and bounding it keeps
// the hashing cost per request bounded too.
const MAX_TOKEN_LENGTH = 1024

const BEARER_HEADER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i

export function readBearer(header: string | undefined): BearerCredentials {
  if (header === undefined || header.trim() === '') return { kind: 'missing' }
  const match = BEARER_HEADER.exec(header)
  if (!match || match[1]!.length > MAX_TOKEN_LENGTH) return { kind: 'malformed' }
  return { kind: 'token', token: match[1]! }
}
