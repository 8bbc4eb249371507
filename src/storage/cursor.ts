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

/** Larger than any seq a database will hand out before the heat death of this server. */
const NO_CURSOR = Number.MAX_SAFE_INTEGER

/**
 * Where a page of jobs starts (seq below `before`) and how many rows to fetch: one more
 * than the page, which tells whether another page exists without a COUNT.
 */
export function pageBounds(query: { limit: number; cursor?: string }): { before: number; fetch: number } {
  if (!Number.isInteger(query.limit) || query.limit < 1) {
    throw new RangeError(`list limit must be an integer >= 1, got ${query.limit}`)
  }
  return { before: query.cursor === undefined ? NO_CURSOR : decodeCursor(query.cursor), fetch: query.limit + 1 }
}

/** Cuts the fetched rows (see pageBounds) to the page and names the next cursor. */
export function toPage<Row extends { seq: number }, Item>(rows: Row[], limit: number, toItem: (row: Row) => Item): { items: Item[]; nextCursor: string | null } {
  const hasMore = rows.length > limit
  const page = hasMore ? rows.slice(0, limit) : rows
  return { items: page.map(toItem), nextCursor: hasMore ? encodeCursor(page[page.length - 1].seq) : null }
}
