/** Probes shared by the storage-fault tests of the real service (full and read-only disks). */
import { gruPairsJob } from './job-specs.js'

export interface Readiness { status: string; checks: { database: boolean }; reasons: string[] }

export async function readiness(url: string): Promise<{ status: number; body: Readiness }> {
  const response = await fetch(`${url}/readyz`)
  return { status: response.status, body: (await response.json()) as Readiness }
}

/** A job whose stored spec is ~`bytes` large (many distinct pairs), so each submission needs fresh pages. */
export function bulkyJob(name: string, bytes: number) {
  const job = gruPairsJob(name, { seed: 1, epochs: 1, checkpointEvery: 1 })
  const pairs = Array.from({ length: Math.ceil(bytes / 40) }, (_, i) => {
    const word = `w${i.toString(36).padStart(6, 'a')}`.slice(0, 7)
    return { input: word, target: word.split('').reverse().join('') }
  })
  return { ...job, data: { type: 'pairs' as const, pairs } }
}

/**
 * Submits bulky jobs until the database refuses one (the WAL may still have room for a few
 * pages when the disk is full); the refusal, and every status seen on the way.
 */
export async function submitUntilRefused(url: string, tries = 200): Promise<{ refusal: Response | undefined; statuses: number[] }> {
  const statuses: number[] = []
  for (let i = 0; i < tries; i++) {
    const response = await fetch(`${url}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(bulkyJob(`refused-${i}`, 20_000)) })
    statuses.push(response.status)
    if (response.status !== 202) return { refusal: response, statuses }
    await response.body?.cancel()
  }
  return { refusal: undefined, statuses }
}
