import { decodeCheckpoint } from '../engine/tasks/checkpoint.js'
import { Predictor } from '../engine/tasks/predictor.js'
import type { CheckpointsStore } from '../storage/storage.js'

/**
 * Trained models held in memory for prediction: each final checkpoint is decoded once and
 * kept in a bounded LRU (a Map's insertion order is its recency order).
 */
export class ModelCache {
  private readonly entries = new Map<string, Predictor>()
  /** Checkpoints being read and decoded, so concurrent requests for one model share the work. */
  private readonly loading = new Map<string, Promise<Predictor | undefined>>()
  hits = 0
  misses = 0

  constructor(private readonly checkpoints: CheckpointsStore, readonly capacity: number) {}

  /** The predictor of a succeeded job, or undefined when it has no final checkpoint. */
  async get(jobId: string): Promise<Predictor | undefined> {
    const cached = this.entries.get(jobId)
    if (cached) {
      this.hits++
      this.entries.delete(jobId)
      this.entries.set(jobId, cached)
      return cached
    }
    this.misses++
    let loading = this.loading.get(jobId)
    if (!loading) {
      loading = this.load(jobId).finally(() => this.loading.delete(jobId))
      this.loading.set(jobId, loading)
    }
    return loading
  }

  private async load(jobId: string): Promise<Predictor | undefined> {
    const record = await this.checkpoints.final(jobId)
    if (!record) return undefined
    const predictor = new Predictor(decodeCheckpoint(new Uint8Array(record.blob.buffer, record.blob.byteOffset, record.blob.byteLength)))
    this.entries.set(jobId, predictor)
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!)
    return predictor
  }

  evict(jobId: string): void {
    this.entries.delete(jobId)
  }

  get size(): number {
    return this.entries.size
  }
}
