import type { Storage } from '../storage/storage.js'
import type { ModelSource } from './prediction-service.js'

/** Serving's view of storage: jobs by id or name, and final checkpoints (SQLite or PostgreSQL alike). */
export function storageModelSource(storage: Storage): ModelSource {
  return {
    findJob: (id) => storage.jobs.findById(id),
    findNewestSucceeded: (name) => storage.jobs.findNewestSucceededByName(name),
    finalCheckpoint: async (jobId) => {
      const record = await storage.checkpoints.final(jobId)
      return record ? new Uint8Array(record.blob.buffer, record.blob.byteOffset, record.blob.byteLength) : undefined
    },
  }
}
