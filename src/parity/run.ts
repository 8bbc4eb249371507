import { readFileSync } from 'node:fs'
import type { CaseResult } from './compare.js'
import type { Fixture } from './fixture.js'
import { detectFormat, REFERENCE_FORMAT, type FileFormat } from './formats.js'
import { defaultParityOptions, type ParityOptions } from './options.js'

/** What checking one file found: file-level problems (each fails the run) and one result per case. */
export interface FileReport {
  format: FileFormat | null
  problems: string[]
  results: CaseResult[]
}

/**
 * Checks a parsed file: its format by shape, no top-level key the format does not define
 * (a renamed section would otherwise be skipped), every section a list, at least one case,
 * then every case of every section in file order.
 */
export function checkParsed(file: unknown, options: ParityOptions = defaultParityOptions()): FileReport {
  if (typeof file !== 'object' || file === null || Array.isArray(file)) {
    return { format: null, problems: ['the file does not hold a JSON object'], results: [] }
  }
  const top = file as Record<string, unknown>
  const format = detectFormat(top)
  const problems: string[] = []
  const results: CaseResult[] = []
  for (const key of Object.keys(top)) {
    if (format.metadata.includes(key)) continue
    const check = format.sections[key]
    if (check === undefined) {
      problems.push(`unknown top-level section ${JSON.stringify(key)} (the ${format.name} format has ${[...Object.keys(format.sections), ...format.metadata].join(', ')})`)
      continue
    }
    const cases = top[key]
    if (!Array.isArray(cases)) {
      problems.push(`section ${key} must be an array of cases`)
      continue
    }
    cases.forEach((c, index) => results.push(check(c, index, options)))
  }
  if (results.length === 0 && problems.length === 0) problems.push('the file has no cases')
  return { format, problems, results }
}

/** Reads and checks one file; an empty or unparsable file is a problem, not an exception. */
export function checkFile(path: string, options: ParityOptions = defaultParityOptions()): FileReport {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    return { format: null, problems: [`cannot read it: ${(err as Error).message}`], results: [] }
  }
  if (text.trim() === '') return { format: null, problems: ['the file is empty'], results: [] }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    return { format: null, problems: [`not JSON: ${(err as Error).message}`], results: [] }
  }
  return checkParsed(parsed, options)
}

export function loadFixture(path: string): Fixture {
  const fixture = JSON.parse(readFileSync(path, 'utf8')) as Fixture
  if (typeof fixture !== 'object' || fixture === null) throw new Error(`${path} does not hold a JSON object`)
  return fixture
}

/** Every case of a reference-format file, one result each, file problems as failed results. */
export function runParity(fixture: Fixture, options: ParityOptions = defaultParityOptions()): CaseResult[] {
  const report = checkParsed(fixture, options)
  return [...report.results, ...report.problems.map((problem) => ({ name: 'file', ok: false, detail: problem }))]
}

export { REFERENCE_FORMAT }
