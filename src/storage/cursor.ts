import { InvalidCursorError } from './errors.js'

/**
 * Pagination cursors are the base64url of the last returned job's `seq`.
 * Opaque to clients so the encoding can change without breaking them.
 */
export function encodeCursor(seq: number): string {
  return Buffer.from(String(seq), 'utf8').toString('base64url')
}

/** Throws InvalidCursorError for anything `encodeCursor` could not have produced. */
export function decodeCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8')
  // Node's base64url decoder skips junk characters, so insist on a round trip.
  if (!/^[1-9]\d{0,15}$/.test(text) || encodeCursor(Number(text)) !== cursor) throw new InvalidCursorError(cursor)
  const seq = Number(text)
  if (!Number.isSafeInteger(seq)) throw new InvalidCursorError(cursor)
  return seq
}
