import { decodeCheckpoint } from '../engine/tasks/checkpoint.js'
import { Predictor } from '../engine/tasks/predictor.js'
import type { CheckpointsRepository } from '../storage/checkpoints-repository.js'

/**
 * Trained models held in memory for prediction: each final checkpoint is decoded once and
 * kept in a bounded LRU (a Map's insertion order is its recency order).
 */
export class ModelCache {
  private readonly entries = new Map<string, Predictor>()
  hits = 0
  misses = 0

  constructor(private readonly checkpoints: CheckpointsRepository, readonly capacity: number) {}

  /** The predictor of a succeeded job, or undefined when it has no final checkpoint. */
  get(jobId: string): Predictor | undefined {
    const cached = this.entries.get(jobId)
    if (cached) {
      this.hits++
      this.entries.delete(jobId)
      this.entries.set(jobId, cached)
      return cached
    }
    this.misses++
    const record = this.checkpoints.final(jobId)
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
