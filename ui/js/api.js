/**
 * Talks to the seqserve API from the page: the API key (kept in sessionStorage, so it
 * leaves with the tab) goes in the Authorization header of every call, and event streams
 * are read with fetch, because EventSource cannot send headers.
 */
const KEY = 'seqserve.apiKey'

export function apiKey() {
  return sessionStorage.getItem(KEY) ?? ''
}

export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY, key)
  else sessionStorage.removeItem(KEY)
}

function headers(extra = {}) {
  const key = apiKey()
  return key ? { ...extra, authorization: `Bearer ${key}` } : extra
}

/** An API error: the service's one error shape ({statusCode, code, message}). */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`)
    this.status = status
    this.code = body?.code ?? 'http_error'
  }
}

/** JSON in, JSON out; throws ApiError with the service's message on a 4xx/5xx. */
export async function api(path, { method = 'GET', body, signal } = {}) {
  const init = { method, signal, headers: headers(body === undefined ? {} : { 'content-type': 'application/json' }) }
  if (body !== undefined) init.body = JSON.stringify(body)
  const response = await fetch(path, init)
  const text = await response.text()
  let data = null
  try {
    data = text ? JSON.parse(text) : null
  } catch {
    data = { message: text }
  }
  if (!response.ok) throw new ApiError(response.status, data)
  return data
}

/** Every point of a job's loss history (following next_cursor). */
export async function allLosses(jobId, signal) {
  const points = []
  let cursor = null
  do {
    const query = cursor ? `?cursor=${encodeURIComponent(cursor)}` : ''
    const page = await api(`/jobs/${encodeURIComponent(jobId)}/losses${query}`, { signal })
    points.push(...page.losses)
    cursor = page.next_cursor
  } while (cursor)
  return points
}

/** Splits a Server-Sent Events body into {id, event, data} records (comments dropped). */
async function* readEvents(body, signal) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader()
  const abort = () => reader.cancel().catch(() => {})
  signal.addEventListener('abort', abort, { once: true })
  let buffer = ''
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      buffer += value.replace(/\r\n?/g, '\n')
      // A catch-up chunk can hold thousands of events: walk it, cut it once at the end.
      let start = 0
      let end
      while ((end = buffer.indexOf('\n\n', start)) >= 0) {
        const block = buffer.slice(start, end)
        start = end + 2
        const record = { id: null, event: 'message', data: '' }
        const data = []
        for (const line of block.split('\n')) {
          if (line === '' || line.startsWith(':')) continue
          const colon = line.indexOf(':')
          const field = colon < 0 ? line : line.slice(0, colon)
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
          if (field === 'id') record.id = value
          else if (field === 'event') record.event = value
          else if (field === 'data') data.push(value)
        }
        if (data.length === 0) continue
        record.data = JSON.parse(data.join('\n'))
        yield record
      }
      buffer = buffer.slice(start)
    }
  } finally {
    signal.removeEventListener('abort', abort)
  }
}

/**
 * Follows an event stream: calls onEvent for each event, reconnects with Last-Event-ID
 * when the connection drops (a server restart, a proxy), and stops when `done(event)`
 * says the last event has come, or `signal` aborts.
 */
export async function follow(path, { lastEventId = null, onEvent, done = () => false, signal, onError = () => {} }) {
  let last = lastEventId
  while (!signal.aborted) {
    try {
      const response = await fetch(path, { headers: headers(last ? { 'last-event-id': last } : {}), signal })
      if (!response.ok) {
        const body = await response.json().catch(() => null)
        throw new ApiError(response.status, body)
      }
      for await (const event of readEvents(response.body, signal)) {
        if (event.id !== null) last = event.id
        onEvent(event)
        if (done(event)) return
      }
    } catch (err) {
      if (signal.aborted) return
      onError(err)
      if (err instanceof ApiError && err.status < 500) return
    }
    await new Promise((resolve) => setTimeout(resolve, 1000))
  }
}
