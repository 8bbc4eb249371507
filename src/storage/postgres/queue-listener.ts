import pg from 'pg'

const RECONNECT_MS = 1_000

/**
 * One connection that LISTENs on a channel for the subscribers of this process. When the
 * connection drops it reconnects after a second; meanwhile the runner's fallback poll
 * still finds queued jobs, so a lost notification only delays a claim.
 */
export class QueueListener {
  private readonly subscribers = new Set<() => void>()
  private client: pg.Client | null = null
  private connecting: Promise<void> | null = null
  private retry: NodeJS.Timeout | null = null
  private closed = false

  constructor(private readonly url: string, private readonly channel: string) {}

  async subscribe(onNotify: () => void): Promise<() => Promise<void>> {
    this.subscribers.add(onNotify)
    await this.connect()
    return async () => {
      this.subscribers.delete(onNotify)
      if (this.subscribers.size === 0) await this.disconnect()
    }
  }

  async close(): Promise<void> {
    this.closed = true
    this.subscribers.clear()
    await this.disconnect()
  }

  private connect(): Promise<void> {
    if (this.client || this.closed || this.subscribers.size === 0) return Promise.resolve()
    this.connecting ??= this.open().finally(() => {
      this.connecting = null
    })
    return this.connecting
  }

  private async open(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, application_name: 'seqserve-listen' })
    const lost = () => {
      if (this.client !== client) return
      this.client = null
      client.end().catch(() => undefined)
      this.scheduleReconnect()
    }
    client.on('error', lost)
    client.on('end', lost)
    client.on('notification', () => {
      for (const subscriber of this.subscribers) subscriber()
    })
    try {
      await client.connect()
      await client.query(`LISTEN ${pg.escapeIdentifier(this.channel)}`)
      this.client = client
      if (this.closed) await this.disconnect()
    } catch {
      client.end().catch(() => undefined)
      this.scheduleReconnect()
    }
  }

  private scheduleReconnect(): void {
    if (this.closed || this.retry || this.subscribers.size === 0) return
    this.retry = setTimeout(() => {
      this.retry = null
      void this.connect()
    }, RECONNECT_MS).unref()
  }

  private async disconnect(): Promise<void> {
    if (this.retry) clearTimeout(this.retry)
    this.retry = null
    await this.connecting
    const client = this.client
    this.client = null
    await client?.end().catch(() => undefined)
  }
}
