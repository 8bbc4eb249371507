import { defaultKernelSet } from '../engine/backend/select.js'
import { DTYPES, KERNEL_SETS } from '../engine/backend/types.js'

/**
 * Command-line options of `npm run parity`, one entry each: the CLI parses them from this
 * table (`--name value`), prints them in its usage line, and passes the chosen values to
 * every checker as `ParityOptions`. Add an option here, then read it in the checkers that
 * depend on it, e.g. `precision: { choices: ['float32', 'float64'], default: 'float64', ... }`.
 */
export interface OptionSpec {
  choices: readonly string[]
  default: string
  description: string
}

export const PARITY_OPTIONS = {
  precision: { choices: DTYPES, default: 'float64', description: 'the precision the engine computes in' },
  kernels: { choices: KERNEL_SETS, default: defaultKernelSet(), description: 'the kernel set (default: the fastest available)' },
} as const satisfies Record<string, OptionSpec>

type Options = typeof PARITY_OPTIONS

/** The chosen value of every option. */
export type ParityOptions = { readonly [Name in keyof Options]: Options[Name] extends OptionSpec ? Options[Name]['choices'][number] : never }

/** Every option at its default. */
export function defaultParityOptions(): ParityOptions {
  const options: Record<string, string> = {}
  for (const [name, spec] of Object.entries(PARITY_OPTIONS as Record<string, OptionSpec>)) options[name] = spec.default
  return options as ParityOptions
}

/** Reads `--name value` pairs; throws a message naming a bad option or value. */
export function readParityOptions(values: Record<string, string | undefined>): ParityOptions {
  const specs = PARITY_OPTIONS as Record<string, OptionSpec>
  const options: Record<string, string> = { ...defaultParityOptions() }
  for (const [name, value] of Object.entries(values)) {
    const spec = specs[name]
    if (spec === undefined) throw new Error(`unknown option --${name}`)
    if (value === undefined || !spec.choices.includes(value)) throw new Error(`--${name} must be one of ${spec.choices.join(', ')}`)
    options[name] = value
  }
  return options as ParityOptions
}

export function optionsUsage(): string {
  return Object.entries(PARITY_OPTIONS as Record<string, OptionSpec>)
    .map(([name, spec]) => `[--${name} ${spec.choices.join('|')}]`)
    .join(' ')
}
