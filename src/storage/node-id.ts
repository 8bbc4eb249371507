/**
 * A node id held by this process: no other live process on the same database leases under
 * it, so a restarting node may take back at once the leases its previous incarnation held.
 */
export interface NodeIdHold {
  /** The id held: the preferred one, or `<preferred>~2`, `~3`, ... when live processes hold those. */
  nodeId: string
  /**
   * False when no lock could be taken (e.g. an unwritable folder): the id is then unique to
   * this process and owns nothing from before, so nothing may be reclaimed under it.
   */
  exclusive: boolean
  /** Lets the id go (also released by the process's death). Idempotent. */
  release(): Promise<void>
}

/** Candidates for a node id, in the order they are tried. */
export function nodeIdCandidates(preferred: string, count = 32): string[] {
  return Array.from({ length: count }, (_, i) => (i === 0 ? preferred : `${preferred}~${i + 1}`))
}

/** The id a process uses when it cannot lock one: its own, so it shares and reclaims nothing. */
export function unlockedNodeId(preferred: string): NodeIdHold {
  return { nodeId: `${preferred}~pid${process.pid}`, exclusive: false, release: async () => undefined }
}
