import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/**
 * The benchmark corpus: `$SEQSERVE_BENCH_CORPUS`, else the copy of the shared
 * `../shared/bench/corpus.txt` kept beside this file (so any checkout can run the bench).
 */
export function defaultCorpusPath(env: NodeJS.ProcessEnv = process.env): string {
  const override = env.SEQSERVE_BENCH_CORPUS
  if (override) return override
  return fileURLToPath(new URL('./corpus.txt', import.meta.url))
}

export interface Corpus {
  text: string
  /** Unique characters sorted by UTF-16 code unit; an id is an index into this list. */
  vocabulary: string[]
  /** The text as ids, one per UTF-16 code unit. */
  ids: Int32Array
}

/** Vocabulary and ids as WORKLOADS.md defines them (sorted by code unit, not by locale). */
export function buildCorpus(text: string): Corpus {
  const units = new Set<number>()
  for (let i = 0; i < text.length; i++) units.add(text.charCodeAt(i))
  const sorted = [...units].sort((a, b) => a - b)
  const idOf = new Map<number, number>()
  sorted.forEach((unit, id) => idOf.set(unit, id))
  const ids = new Int32Array(text.length)
  for (let i = 0; i < text.length; i++) ids[i] = idOf.get(text.charCodeAt(i))!
  return { text, vocabulary: sorted.map((unit) => String.fromCharCode(unit)), ids }
}

export function loadCorpus(path = defaultCorpusPath()): Corpus {
  return buildCorpus(readFileSync(path, 'utf8'))
}
