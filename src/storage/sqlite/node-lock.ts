import fs from 'node:fs'
import path from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { nodeIdCandidates, unlockedNodeId, type NodeIdHold } from '../node-id.js'

/**
 * Holds a node id for processes sharing one SQLite file: each id is a small lock file in
 * `<database>.nodes/`, held with an exclusive SQLite lock for as long as the process lives.
 * The operating system drops the lock when the process dies (kill -9 included), so the next
 * start finds it free at once and takes the same id back.
 */
export function holdSqliteNodeId(databasePath: string, preferred: string): NodeIdHold {
  // A private in-memory database has no other process: the id is ours alone.
  if (databasePath === ':memory:' || databasePath === '') return { nodeId: preferred, exclusive: true, release: async () => undefined }
  const dir = `${path.resolve(databasePath)}.nodes`
  try {
    fs.mkdirSync(dir, { recursive: true })
  } catch {
    return unlockedNodeId(preferred)
  }
  for (const nodeId of nodeIdCandidates(preferred)) {
    let lock: BetterSqlite3.Database | undefined
    try {
      lock = new BetterSqlite3(path.join(dir, `${encodeURIComponent(nodeId)}.lock`), { timeout: 0 })
      lock.pragma('locking_mode = EXCLUSIVE')
      lock.exec('BEGIN EXCLUSIVE')
    } catch (err) {
      lock?.close()
      if ((err as { code?: string }).code === 'SQLITE_BUSY') continue
      return unlockedNodeId(preferred)
    }
    const held = lock
    return {
      nodeId,
      exclusive: true,
      release: async () => {
        if (held.open) held.close()
      },
    }
  }
  return unlockedNodeId(preferred)
}
