import type { ModelRegistry } from '../models/registry.js'
import type { Storage } from '../storage/storage.js'
import type { ModelSource } from './prediction-service.js'

/**
 * Serving's view of storage: jobs by id, model names through the registry, and final
 * checkpoints (SQLite or PostgreSQL alike).
 */
export function storageModelSource(storage: Storage, registry: Pick<ModelRegistry, 'resolve' | 'versionOf'>): ModelSource {
  return {
    findJob: (id) => storage.jobs.findById(id),
    resolveModel: (model, version) => registry.resolve(model, version),
    versionOf: (jobId) => registry.versionOf(jobId),
    finalCheckpoint: async (jobId) => {
      const record = await storage.checkpoints.final(jobId)
      return record ? new Uint8Array(record.blob.buffer, record.blob.byteOffset, record.blob.byteLength) : undefined
    },
  }
}
