import { checkCell } from './cells.js'
import type { CaseResult } from './compare.js'
import type { ParityOptions } from './options.js'
import { checkClip, checkLoss, checkOptimizer } from './primitives.js'
import { checkScheduleCase } from './schedulers.js'
import { readCell, readClip, readLoss, readOptimizer, readTrajectory } from './read-cases.js'
import { CaseReader } from './reader.js'
import { checkTrajectory } from './trajectories.js'

/**
 * The file formats `npm run parity` reads. A format is recognised by its shape (the first
 * whose `detect` accepts the file; the PyTorch reference format, last, takes the rest), names
 * its metadata keys and maps each top-level section to the checker of its cases. Add a
 * format by writing its section checkers and putting it before REFERENCE_FORMAT in FORMATS.
 */

/** Checks one case of a section: reads it strictly, then compares it with the engine. */
export type SectionChecker = (raw: unknown, index: number, options: ParityOptions) => CaseResult

export interface FileFormat {
  name: string
  detect(file: Record<string, unknown>): boolean
  /** Top-level keys that describe the file rather than hold cases. */
  metadata: readonly string[]
  sections: Readonly<Record<string, SectionChecker>>
}

/** Keys any format may carry about how the file was made. */
export const METADATA_KEYS = ['generated_by', 'generated_with'] as const

/**
 * A section checker from a strict reader and a comparison: a case the reader rejects fails
 * with the reader's problems (each naming its field) and is not compared.
 */
export function strictSection<Case>(
  section: string,
  read: (reader: CaseReader) => Case | undefined,
  compare: (c: Case, index: number, options: ParityOptions) => CaseResult,
): SectionChecker {
  return (raw, index, options) => {
    const reader = new CaseReader(raw)
    const parsed = read(reader)
    if (parsed === undefined || !reader.ok) {
      const problems = reader.problems.length > 0 ? reader.problems : ['the case could not be read']
      return { name: `${section}[${index}]`, ok: false, detail: problems.join('; ') }
    }
    return compare(parsed, index, options)
  }
}

/** shared/fixtures/README.md: torch_reference.json and any file in its format. */
export const REFERENCE_FORMAT: FileFormat = {
  name: 'PyTorch reference vectors',
  detect: () => true,
  metadata: METADATA_KEYS,
  sections: {
    cells: strictSection('cells', readCell, checkCell),
    trajectories: strictSection('trajectories', readTrajectory, checkTrajectory),
    optimizers: strictSection('optimizers', readOptimizer, checkOptimizer),
    losses: strictSection('losses', readLoss, checkLoss),
    clip_grad_norm: strictSection('clip_grad_norm', readClip, checkClip),
  },
}

/** shared/fixtures/README.md, torch_schedulers.json: learning-rate schedules, told by their `cases` list. */
export const SCHEDULE_FORMAT: FileFormat = {
  name: 'PyTorch learning-rate schedules',
  detect: (file) => 'cases' in file,
  metadata: METADATA_KEYS,
  sections: { cases: (raw, index) => checkScheduleCase(raw, index) },
}

/** Every format, most specific first. */
export const FORMATS: readonly FileFormat[] = [SCHEDULE_FORMAT, REFERENCE_FORMAT]

export function detectFormat(file: Record<string, unknown>): FileFormat {
  return FORMATS.find((format) => format.detect(file)) ?? REFERENCE_FORMAT
}
