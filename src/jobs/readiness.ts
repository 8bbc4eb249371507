import type { Storage } from '../storage/storage.js'
import type { JobRunner } from './runner.js'

export interface Readiness {
  ready: boolean
  checks: { database: boolean; migrations: boolean; workers: boolean }
  /** Why the service is not ready, one sentence each (empty when ready). */
  reasons: string[]
}

/**
 * Whether this process can take traffic: the database accepts writes, its schema is at the
 * version of this code, and the worker pool is up (when this process trains).
 */
export async function checkReadiness(storage: Storage, runner: JobRunner | null): Promise<Readiness> {
  const health = await storage.checkHealth()
  const reasons = [...health.reasons]
  const workers = runner === null || runner.running
  if (!workers) reasons.push('the training worker pool is not running (starting up or shutting down)')
  return { ready: reasons.length === 0, checks: { database: health.writable, migrations: health.migrated, workers }, reasons }
}
