/**
 * What a prediction's selector (`job=ID`, `model=NAME`, `NAME@ALIAS`, `NAME` + version)
 * resolved to, remembered so the hot path skips the registry and job lookups: measured,
 * those two queries were a quarter of the seed model's GET /predict (README "Serving").
 *
 * Only successful resolutions are kept (a missing model or an unfinished job is looked up
 * again on every request). This process's own changes clear the cache at once: an alias
 * set or deleted, a version imported, a job that finished training here, a job deleted
 * (`clear()`). Changes made by another process on the same database (another API node,
 * a worker node) are seen after at most `ttlMs` (PREDICT_RESOLVE_TTL_MS; 0 = no cache).
 */
export class ResolutionCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>()
  /** Bumped by every clear(): a lookup that started before it must not store its result. */
  private generation = 0

  constructor(private readonly ttlMs: number, private readonly maxEntries = 4096) {}

  get(key: string): V | undefined {
    const entry = this.entries.get(key)
    if (!entry) return undefined
    if (Date.now() < entry.expires) return entry.value
    this.entries.delete(key)
    return undefined
  }

  /** The generation to hand back to `set` once the lookup is done. */
  begin(): number {
    return this.generation
  }

  /** Keeps `value` unless the cache was cleared since `begin()` returned `generation`. */
  set(key: string, value: V, generation: number): void {
    if (this.ttlMs <= 0 || generation !== this.generation) return
    this.entries.delete(key)
    this.entries.set(key, { value, expires: Date.now() + this.ttlMs })
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!)
  }

  clear(): void {
    this.generation++
    this.entries.clear()
  }
}
