export type {
  Storage, StorageDialect, StorageHealth, JobsStore, CheckpointsStore, LossesStore, ProgressStore, CreateOptions, EpochUpdate, ResumeOptions, ResumePoint,
} from './storage.js'
export { openStorage, type StorageTarget } from './open.js'
export { encodeCursor, decodeCursor } from './cursor.js'
export * from './errors.js'
export * from './types.js'
