/**
 * A minimal Server-Sent Events reader over fetch (the format of the WHATWG spec: `id:`,
 * `event:`, `data:` lines, a blank line ends an event, `:` lines are comments).
 */
export interface SseEvent {
  id: string | null
  event: string
  data: unknown
}

export interface SseStream {
  response: Response
  /** Next event, or null when the stream ended. Comments are counted, not returned. */
  next(): Promise<SseEvent | null>
  comments: string[]
  close(): void
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  const controller = new AbortController()
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal })
  const reader = response.body!.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  const comments: string[] = []
  const parse = (block: string): SseEvent | null => {
    let id: string | null = null
    let event = 'message'
    const data: string[] = []
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) comments.push(line.slice(1).trim())
      else if (line.startsWith('id: ')) id = line.slice(4)
      else if (line.startsWith('event: ')) event = line.slice(7)
      else if (line.startsWith('data: ')) data.push(line.slice(6))
    }
    return data.length === 0 ? null : { id, event, data: JSON.parse(data.join('\n')) }
  }
  return {
    response,
    comments,
    close: () => controller.abort(),
    async next() {
      for (;;) {
        const end = buffer.indexOf('\n\n')
        if (end >= 0) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const parsed = parse(block)
          if (parsed) return parsed
          continue
        }
        let chunk
        try {
          chunk = await reader.read()
        } catch {
          return null
        }
        if (chunk.done) return null
        buffer += decoder.decode(chunk.value, { stream: true })
      }
    },
  }
}
