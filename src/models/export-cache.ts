/**
 * Built exports of model versions (card, safetensors, ONNX), kept so a popular model is not
 * rebuilt on every download. Only what can no longer change is cached: a succeeded job's final
 * checkpoint, losses and record are fixed, so its exports are too. An LRU bounded by bytes (a
 * Map's insertion order is its recency order); an entry larger than the budget is not kept.
 */
export class ExportCache<T> {
  private readonly entries = new Map<string, { value: T; bytes: number }>()
  private total = 0
  hits = 0
  misses = 0

  constructor(readonly budgetBytes: number) {}

  get(key: string): T | undefined {
    const entry = this.entries.get(key)
    if (!entry) {
      this.misses++
      return undefined
    }
    this.hits++
    this.entries.delete(key)
    this.entries.set(key, entry)
    return entry.value
  }

  set(key: string, value: T, bytes: number): void {
    this.delete(key)
    if (bytes > this.budgetBytes) return
    this.entries.set(key, { value, bytes })
    this.total += bytes
    for (const [oldest, entry] of this.entries) {
      if (this.total <= this.budgetBytes) break
      this.entries.delete(oldest)
      this.total -= entry.bytes
    }
  }

  /** Drops every entry whose key starts with `prefix` (a job's card and its ONNX variants). */
  deletePrefix(prefix: string): void {
    for (const key of [...this.entries.keys()]) if (key.startsWith(prefix)) this.delete(key)
  }

  delete(key: string): void {
    const entry = this.entries.get(key)
    if (!entry) return
    this.entries.delete(key)
    this.total -= entry.bytes
  }

  get bytes(): number {
    return this.total
  }

  get size(): number {
    return this.entries.size
  }
}
