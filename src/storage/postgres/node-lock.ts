import pg from 'pg'
import { nodeIdCandidates, unlockedNodeId, type NodeIdHold } from '../node-id.js'

/**
 * Holds a node id among all processes on one PostgreSQL database: a session advisory lock
 * on a connection of its own, kept for the process's life. The server drops it when that
 * connection ends, a killed process's included.
 */
export async function holdPgNodeId(url: string, preferred: string): Promise<NodeIdHold> {
  const client = new pg.Client({ connectionString: url, application_name: 'seqserve-node', connectionTimeoutMillis: 10_000 })
  // A dropped connection loses the lock (fencing still guards every write); it must not crash the process.
  client.on('error', () => undefined)
  try {
    await client.connect()
    for (const nodeId of nodeIdCandidates(preferred)) {
      const { rows } = await client.query<{ held: boolean }>(
        `SELECT pg_try_advisory_lock(hashtext('seqserve.node'), hashtext($1)) AS held`, [nodeId])
      if (rows[0].held) return { nodeId, exclusive: true, release: () => client.end().catch(() => undefined) }
    }
  } catch {
    // Fall through: without a lock the process leases under an id of its own.
  }
  await client.end().catch(() => undefined)
  return unlockedNodeId(preferred)
}
