import { trains, type Role } from '../config.js'
import type { Storage } from '../storage/storage.js'
import type { JobRunner } from './runner.js'

export interface Readiness {
  ready: boolean
  role: Role
  checks: { database: boolean; migrations: boolean; workers: boolean }
  /** Why the service is not ready, one sentence each (empty when ready). */
  reasons: string[]
}

/**
 * Whether this node can do its role's work: the database accepts writes and its schema is at
 * the version of this code (every role), and the worker pool is up (roles that train).
 */
export async function checkReadiness(storage: Storage, runner: JobRunner | null, role: Role): Promise<Readiness> {
  const health = await storage.checkHealth()
  const reasons = [...health.reasons]
  const workers = !trains(role) || (runner !== null && runner.running)
  if (!workers) reasons.push(`the training worker pool is not running (starting up or shutting down) on this ${role} node`)
  return { ready: reasons.length === 0, role, checks: { database: health.writable, migrations: health.migrated, workers }, reasons }
}
