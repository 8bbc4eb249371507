import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export interface PackageInfo {
  name: string
  version: string
  description: string
}

/**
 * The project root: the nearest ancestor holding our package.json. Searched rather than
 * hard-coded because this file runs from `src/http` (tsx) and from `dist/src/http` (build).
 */
export function findProjectRoot(start = dirname(fileURLToPath(import.meta.url))): string {
  let dir = start
  for (;;) {
    const candidate = join(dir, 'package.json')
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string }
      if (pkg.name === 'seqserve') return dir
    }
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`No seqserve package.json above ${start}`)
    dir = parent
  }
}

let cached: PackageInfo | undefined

/** name, version and description from package.json (read once). */
export function packageInfo(): PackageInfo {
  if (!cached) {
    const pkg = JSON.parse(readFileSync(join(findProjectRoot(), 'package.json'), 'utf8')) as Partial<PackageInfo>
    cached = {
      name: pkg.name ?? 'seqserve',
      version: pkg.version ?? '0.0.0',
      description: pkg.description ?? '',
    }
  }
  return cached
}
