import { BatchPredictor } from '../engine/tasks/batch-predictor.js'
import { decodeCheckpoint } from '../engine/tasks/checkpoint.js'

/**
 * The models one inference worker holds, decoded once from their final checkpoint and kept
 * in an LRU bounded by bytes (its share of MODEL_CACHE_BYTES) and, when the deprecated
 * MODEL_CACHE_SIZE is set, by count. A Map's insertion order is its recency order. A model
 * larger than the whole budget is still served: it stays as the only entry.
 */
export class ModelCache {
  private readonly entries = new Map<string, BatchPredictor>()
  /** The most recently used entry: a hit on it needs no reordering (the hot path of one busy model). */
  private newest: string | null = null
  hits = 0
  misses = 0

  constructor(readonly budgetBytes: number, readonly maxModels = Number.POSITIVE_INFINITY) {}

  /** The cached predictor (a hit), or undefined (a miss: the caller supplies the checkpoint). */
  get(jobId: string): BatchPredictor | undefined {
    const cached = this.entries.get(jobId)
    if (!cached) {
      this.misses++
      return undefined
    }
    this.hits++
    if (this.newest !== jobId) {
      this.entries.delete(jobId)
      this.entries.set(jobId, cached)
      this.newest = jobId
    }
    return cached
  }

  /** Decodes a final checkpoint, caches it as the most recent entry and evicts the oldest over budget. */
  load(jobId: string, checkpoint: Uint8Array): BatchPredictor {
    this.evict(jobId)
    const predictor = new BatchPredictor(decodeCheckpoint(checkpoint))
    this.entries.set(jobId, predictor)
    this.newest = jobId
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= 1 || (this.bytes <= this.budgetBytes && this.entries.size <= this.maxModels)) break
      this.entries.delete(oldest)
    }
    return predictor
  }

  evict(jobId: string): void {
    const entry = this.entries.get(jobId)
    if (!entry) return
    this.entries.delete(jobId)
    if (this.newest === jobId) this.newest = null
  }

  get size(): number {
    return this.entries.size
  }

  /** Summed on demand: a WebAssembly backend's memory grows with the largest batch it served. */
  get bytes(): number {
    let total = 0
    for (const entry of this.entries.values()) total += entry.bytes
    return total
  }

  keys(): string[] {
    return [...this.entries.keys()]
  }
}
