/** The throwaway PostgreSQL cluster of the current test file (see postgres-cluster.ts). */
import tap from 'tap'
import { startPostgres, type PostgresCluster } from './postgres-cluster.js'

export { freePort, startPostgres, type PostgresCluster } from './postgres-cluster.js'

let shared: Promise<PostgresCluster> | null = null

/** One cluster per test file (process), started on first use and stopped when the file's tests end. */
export function sharedPostgres(): Promise<PostgresCluster> {
  if (shared === null) {
    shared = startPostgres()
    const cluster = shared
    tap.teardown(async () => (await cluster).stop())
  }
  return shared
}
