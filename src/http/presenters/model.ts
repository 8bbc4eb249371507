import type { ModelRecord, ModelVersionRecord } from '../../storage/types.js'
import { msToIso } from '../../storage/types.js'

export function presentVersion(v: ModelVersionRecord, aliases: Record<string, number>) {
  return {
    name: v.name, version: v.version, source: v.source, job: v.jobId,
    aliases: Object.keys(aliases).filter((a) => aliases[a] === v.version).sort(),
    created_at: msToIso(v.createdAt),
  }
}

export function presentModel(m: ModelRecord) {
  return {
    name: m.name,
    latest_version: m.versions.reduce((max, v) => Math.max(max, v.version), 0),
    aliases: m.aliases,
    versions: m.versions.map((v) => presentVersion(v, m.aliases)),
    created_at: msToIso(m.createdAt),
  }
}
