/**
 * Turns Ajv errors into short sentences a client can act on, each naming the field:
 *   body/model/hidden_size must be <= 1024
 *   body/training has unknown field "epoch"
 *   body/model/type must be one of "rnn", "lstm", "gru"
 *   querystring/limit must be integer
 */

/** The subset of Ajv's ErrorObject this module reads (fastify types it loosely). */
export interface AjvIssue {
  keyword: string
  instancePath: string
  schemaPath: string
  params: Record<string, unknown>
  message?: string
  schema?: unknown
  parentSchema?: unknown
}

export interface FieldProblem {
  /** `body/model/hidden_size`: the request part, then the JSON pointer into it. */
  field: string
  message: string
}

export interface FormattedValidation {
  /** True when any problem is an unknown (e.g. misspelt) field. */
  unknownField: boolean
  problems: FieldProblem[]
  /** Raw Ajv errors beyond the ones read (only for pathological bodies). */
  unreadIssues: number
}

const quote = (value: unknown) => JSON.stringify(value)

function joinPath(part: string, instancePath: string, child?: string): string {
  const suffix = child === undefined ? '' : `/${child}`
  return `${part}${instancePath}${suffix}`
}

/** Allowed tag values of a discriminated `oneOf`, read from the schema Ajv reports. */
function discriminatorValues(issue: AjvIssue, tag: string): unknown[] {
  const parent = issue.parentSchema as { oneOf?: unknown[] } | undefined
  const values: unknown[] = []
  for (const branch of parent?.oneOf ?? []) {
    const tagSchema = (branch as { properties?: Record<string, { const?: unknown; enum?: unknown[] }> })
      .properties?.[tag]
    if (tagSchema?.const !== undefined) values.push(tagSchema.const)
    else if (Array.isArray(tagSchema?.enum)) values.push(...tagSchema.enum)
  }
  return values
}

function describeSingle(part: string, issue: AjvIssue): FieldProblem {
  const field = joinPath(part, issue.instancePath)
  const params = issue.params
  switch (issue.keyword) {
    case 'additionalProperties':
      return { field, message: `has unknown field ${quote(params.additionalProperty)}` }
    case 'required':
      return { field: joinPath(part, issue.instancePath, String(params.missingProperty)), message: 'is required' }
    case 'enum':
      return {
        field,
        message: `must be one of ${(params.allowedValues as unknown[]).map(quote).join(', ')}`,
      }
    case 'const':
      return { field, message: `must be ${quote(params.allowedValue)}` }
    case 'discriminator': {
      const tag = String(params.tag)
      const tagField = joinPath(part, issue.instancePath, tag)
      if (params.error === 'tag') return { field: tagField, message: 'must be a string' }
      const allowed = discriminatorValues(issue, tag)
      return allowed.length > 0
        ? { field: tagField, message: `must be one of ${allowed.map(quote).join(', ')}` }
        : { field: tagField, message: `has an unsupported value ${quote(params.tagValue)}` }
    }
    default:
      return { field, message: issue.message ?? 'is invalid' }
  }
}

/**
 * An `anyOf` failure comes with one error per branch plus the anyOf error itself. Fold
 * them into one sentence: `must be one of "a", "b"` for literal unions, otherwise the
 * branch messages joined by "or" (`must be >= 0 or null` for a nullable number).
 */
function describeAnyOf(part: string, anyOf: AjvIssue, branches: AjvIssue[]): FieldProblem {
  const field = joinPath(part, anyOf.instancePath)
  const sameField = branches.filter((issue) => issue.instancePath === anyOf.instancePath)
  if (sameField.length === branches.length && sameField.length > 0) {
    if (sameField.every((issue) => issue.keyword === 'const' || issue.keyword === 'enum')) {
      const values = sameField.flatMap((issue) =>
        issue.keyword === 'const'
          ? [issue.params.allowedValue]
          : (issue.params.allowedValues as unknown[]),
      )
      return { field, message: `must be one of ${values.map(quote).join(', ')}` }
    }
    // "must be > 0" + "must be null" -> "must be > 0 or null"; a branch not worded "must be ..."
    // ("must NOT have fewer than 1 characters") keeps its own verb: "... or be array".
    const parts = sameField.map((issue) =>
      issue.keyword === 'type' && issue.params.type === 'null'
        ? 'be null'
        : (issue.message ?? 'be valid').replace(/^must /, ''),
    )
    const unique = [...new Set(parts)]
    if (unique.every((part) => part.startsWith('be '))) return { field, message: `must be ${unique.map((part) => part.slice(3)).join(' or ')}` }
    return { field, message: `must ${unique.join(' or ')}` }
  }
  return { field, message: 'does not match any of the allowed forms' }
}

// Ajv with allErrors can report one error per array element of a hostile body; nobody
// reads past the first screenful, so neither do we.
const MAX_ISSUES_READ = 100

export function formatValidationErrors(part: string, allIssues: readonly AjvIssue[]): FormattedValidation {
  const issues = allIssues.slice(0, MAX_ISSUES_READ)
  const anyOfs = issues.filter((issue) => issue.keyword === 'anyOf')
  const branchOf = (issue: AjvIssue) =>
    anyOfs.find((anyOf) => issue !== anyOf && issue.schemaPath.startsWith(`${anyOf.schemaPath}/`))
  const missing = new Set(
    issues
      .filter((issue) => issue.keyword === 'required')
      .map((issue) => `${issue.instancePath}/${String(issue.params.missingProperty)}`),
  )

  const problems: FieldProblem[] = []
  for (const issue of issues) {
    if (branchOf(issue)) continue
    if (issue.keyword === 'anyOf') {
      problems.push(describeAnyOf(part, issue, issues.filter((other) => branchOf(other) === issue)))
      continue
    }
    // A missing union tag is already reported by `required`.
    if (
      issue.keyword === 'discriminator' &&
      issue.params.error === 'tag' &&
      missing.has(`${issue.instancePath}/${String(issue.params.tag)}`)
    ) {
      continue
    }
    problems.push(describeSingle(part, issue))
  }

  // Unknown fields first: a misspelt field often explains the other complaints.
  const isUnknown = (problem: FieldProblem) => problem.message.startsWith('has unknown field')
  const ordered = [...problems.filter(isUnknown), ...problems.filter((p) => !isUnknown(p))]
  const seen = new Set<string>()
  const unique = ordered.filter((problem) => {
    const key = `${problem.field} ${problem.message}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
  const unread = allIssues.length - issues.length
  return { unknownField: unique.some(isUnknown), problems: unique, unreadIssues: unread }
}

/** `problem; problem; ... (and N more)`, bounded so a hostile body cannot bloat the reply. */
export function summarizeProblems(formatted: FormattedValidation, max = 5): string {
  const { problems } = formatted
  const shown = problems.slice(0, max).map((problem) => `${problem.field} ${problem.message}`)
  const rest = problems.length - shown.length + formatted.unreadIssues
  return rest > 0 ? `${shown.join('; ')} (and ${rest} more)` : shown.join('; ')
}
