import net from 'node:net'

/**
 * HTTP/1.1 over a bare TCP socket, for requests no well-behaved client would send: invalid
 * header bytes, duplicate or lying Content-Length, broken chunking, bad percent-encoding,
 * unparseable request lines. Nothing is validated or normalised on the way out; every
 * request gets its own connection (with `connection: close`, so the server ends it after
 * answering). Malformed requests can be half-closed after writing (`halfClose`), so a server
 * waiting for more body sees end-of-stream instead of hanging the test; well-formed ones are
 * not, because servers may abandon a response once the client has hung up (static files do).
 */

export interface RawRequest {
  method: string
  /** The request-target exactly as sent (already percent-encoded, or deliberately not). */
  target: string
  /** Sent in order, as latin1 bytes; duplicates allowed. `host` and `connection: close` are added unless present. */
  headers?: ReadonlyArray<readonly [string, string]>
  body?: string | Buffer
  /** Add `content-length` for the body (default true, unless the headers set it or `transfer-encoding`). */
  contentLength?: boolean
  /** Default `HTTP/1.1`. */
  version?: string
}

export interface RawResponse {
  status: number
  /** Lower-cased names; repeated headers joined with ", ". */
  headers: Record<string, string>
  body: Buffer
  /**
   * Fewer body bytes arrived than Content-Length announced: the connection was reset while
   * the answer was in flight (a server closing on an unread request body sends a TCP RST,
   * which can discard the end of a large answer on the client's side).
   */
  truncated?: boolean
}

export interface RawExchange {
  /** undefined when the server closed the connection (or the test timed out) without a parseable response. */
  response: RawResponse | undefined
  timedOut: boolean
}

const hasHeader = (headers: ReadonlyArray<readonly [string, string]>, name: string) =>
  headers.some(([key]) => key.toLowerCase() === name)

export function serializeRequest(request: RawRequest): Buffer {
  const headers = [...(request.headers ?? [])]
  if (!hasHeader(headers, 'host')) headers.unshift(['host', '127.0.0.1'])
  if (!hasHeader(headers, 'connection')) headers.push(['connection', 'close'])
  const body = typeof request.body === 'string' ? Buffer.from(request.body, 'utf8') : request.body
  const addLength = request.contentLength ?? (!hasHeader(headers, 'content-length') && !hasHeader(headers, 'transfer-encoding'))
  if (body !== undefined && addLength) headers.push(['content-length', String(body.length)])
  const head = `${request.method} ${request.target} ${request.version ?? 'HTTP/1.1'}\r\n${headers.map(([key, value]) => `${key}: ${value}\r\n`).join('')}\r\n`
  return body === undefined ? Buffer.from(head, 'latin1') : Buffer.concat([Buffer.from(head, 'latin1'), body])
}

function decodeChunked(data: Buffer): Buffer {
  const parts: Buffer[] = []
  let offset = 0
  for (;;) {
    const lineEnd = data.indexOf('\r\n', offset)
    if (lineEnd < 0) break
    const size = Number.parseInt(data.subarray(offset, lineEnd).toString('latin1'), 16)
    if (!Number.isFinite(size) || size === 0) break
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size))
    offset = lineEnd + 2 + size + 2
  }
  return Buffer.concat(parts)
}

/** Parses the first final response in `data` (skipping `100 Continue`); undefined when there is none. */
export function parseResponse(data: Buffer): RawResponse | undefined {
  while (/^HTTP\/1\.[01] 1\d\d /.test(data.subarray(0, 16).toString('latin1'))) {
    const interimEnd = data.indexOf('\r\n\r\n')
    if (interimEnd < 0) return undefined
    data = data.subarray(interimEnd + 4)
  }
  const headEnd = data.indexOf('\r\n\r\n')
  const head = data.subarray(0, headEnd < 0 ? data.length : headEnd).toString('latin1')
  const [statusLine, ...lines] = head.split('\r\n')
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')
  if (!match) return undefined
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    if (colon < 0) continue
    const name = line.slice(0, colon).trim().toLowerCase()
    const value = line.slice(colon + 1).trim()
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`
  }
  let body = headEnd < 0 ? Buffer.alloc(0) : data.subarray(headEnd + 4)
  if (headers['transfer-encoding']?.toLowerCase() === 'chunked') body = decodeChunked(body)
  else if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length'])
    if (body.length < length) return { status: Number(match[1]), headers, body, truncated: true }
    body = body.subarray(0, length)
  }
  return { status: Number(match[1]), headers, body }
}

export interface SendOptions {
  /** End our side of the connection once the bytes are written. */
  halfClose?: boolean
  timeoutMs?: number
}

/** Writes the bytes on a fresh connection and reads until the server closes it. */
export function sendRaw(port: number, bytes: Buffer, options: SendOptions = {}): Promise<RawExchange> {
  const { halfClose = false, timeoutMs = 10_000 } = options
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    const socket = net.connect({ host: '127.0.0.1', port })
    let settled = false
    const finish = (timedOut: boolean) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      resolve({ response: parseResponse(Buffer.concat(chunks)), timedOut })
    }
    const timer = setTimeout(() => finish(true), timeoutMs)
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    // A reset after an error response is normal: keep what arrived.
    socket.on('error', () => finish(false))
    socket.on('close', () => finish(false))
    socket.on('connect', () => {
      socket.write(bytes, () => {
        // The server may already have answered and closed; ending then is harmless.
        if (halfClose && !socket.destroyed) socket.end()
      })
    })
  })
}

/** Percent-encodes the UTF-8 bytes of `text` except RFC 3986 unreserved characters. */
export function percentEncode(text: string): string {
  let out = ''
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte)
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

/** `body` in chunked transfer coding, cut into pieces of the given sizes (the rest as one chunk). */
export function chunkedBody(body: Buffer, sizes: readonly number[] = []): Buffer {
  const parts: Buffer[] = []
  let offset = 0
  for (const size of [...sizes, body.length]) {
    const piece = body.subarray(offset, offset + Math.max(1, size))
    if (piece.length === 0) break
    parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`, 'latin1'), piece, Buffer.from('\r\n', 'latin1'))
    offset += piece.length
  }
  parts.push(Buffer.from('0\r\n\r\n', 'latin1'))
  return Buffer.concat(parts)
}
