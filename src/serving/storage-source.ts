import type { Storage } from '../storage/storage.js'
import type { ModelSource } from './prediction-service.js'

/** Serving's view of storage: jobs by id or name, and final checkpoints (awaited, whatever the backend). */
export function storageModelSource(storage: Storage): ModelSource {
  return {
    findJob: async (id) => storage.jobs.findById(id),
    findNewestSucceeded: async (name) => storage.jobs.findNewestSucceededByName(name),
    finalCheckpoint: async (jobId) => {
      const record = storage.checkpoints.final(jobId)
      return record ? new Uint8Array(record.blob.buffer, record.blob.byteOffset, record.blob.byteLength) : undefined
    },
  }
}
