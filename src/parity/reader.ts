import type { FixtureTensor } from './fixture.js'

/**
 * Reads one case of a reference file strictly: every field the format defines must be
 * there with the right type, tensors must be `{shape, data}` with as many numbers as the
 * shape says, and shapes must be the ones the case's own configuration implies. Each
 * problem names the field (`outputs.c_n`, `grads.h0`), so a file with data missing fails
 * loudly instead of passing with fewer comparisons.
 */

type Json = Record<string, unknown>

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)

const formatShape = (shape: readonly number[]) => `[${shape.join(', ')}]`

export class CaseReader {
  readonly problems: string[] = []

  constructor(readonly raw: unknown) {
    if (!isObject(raw)) this.problems.push('the case is not a JSON object')
  }

  get ok(): boolean {
    return this.problems.length === 0
  }

  /** The value at a dotted path (`outputs.c_n`), or undefined when any step is absent. */
  private lookup(path: string): unknown {
    let value: unknown = this.raw
    for (const key of path.split('.')) {
      if (!isObject(value) || !Object.hasOwn(value, key)) return undefined
      value = value[key]
    }
    return value
  }

  has(path: string): boolean {
    return this.lookup(path) !== undefined
  }

  private required(path: string): unknown {
    const value = this.lookup(path)
    if (value === undefined) this.problems.push(`missing field ${path}`)
    return value
  }

  number(path: string, options: { integer?: boolean; min?: number } = {}): number | undefined {
    const value = this.required(path)
    if (value === undefined) return undefined
    if (typeof value !== 'number' || !Number.isFinite(value) || (options.integer && !Number.isInteger(value)) || (options.min !== undefined && value < options.min)) {
      this.problems.push(`${path} must be ${options.integer ? 'an integer' : 'a finite number'}${options.min !== undefined ? ` >= ${options.min}` : ''}, got ${JSON.stringify(value)}`)
      return undefined
    }
    return value
  }

  /** A required value that passes `test`, described as `what` when it does not. */
  private typed<T>(path: string, test: (value: unknown) => value is T, what: string): T | undefined {
    const value = this.required(path)
    if (value === undefined) return undefined
    if (!test(value)) {
      this.problems.push(`${path} must be ${what}, got ${JSON.stringify(value)}`)
      return undefined
    }
    return value
  }

  boolean(path: string): boolean | undefined {
    return this.typed(path, (value): value is boolean => typeof value === 'boolean', 'true or false')
  }

  string(path: string): string | undefined {
    return this.typed(path, (value): value is string => typeof value === 'string', 'a string')
  }

  oneOf<const T extends string>(path: string, choices: readonly T[]): T | undefined {
    const value = this.string(path)
    if (value === undefined) return undefined
    if (!(choices as readonly string[]).includes(value)) {
      this.problems.push(`${path} must be one of ${choices.join(', ')}, got ${JSON.stringify(value)}`)
      return undefined
    }
    return value as T
  }

  object(path: string): Json | undefined {
    const value = this.required(path)
    if (value === undefined) return undefined
    if (!isObject(value)) {
      this.problems.push(`${path} must be an object`)
      return undefined
    }
    return value
  }

  numbers(path: string, length?: number): number[] | undefined {
    const value = this.required(path)
    if (value === undefined) return undefined
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      this.problems.push(`${path} must be an array of finite numbers`)
      return undefined
    }
    if (length !== undefined && value.length !== length) {
      this.problems.push(`${path} has ${value.length} values, expected ${length}`)
      return undefined
    }
    return value as number[]
  }

  /** A `{shape, data}` tensor; with `expected`, its shape must equal it. */
  tensor(path: string, expected?: readonly number[]): FixtureTensor | undefined {
    const value = this.required(path)
    if (value === undefined) return undefined
    return this.checkTensor(path, value, expected)
  }

  private checkTensor(path: string, value: unknown, expected?: readonly number[]): FixtureTensor | undefined {
    if (!isObject(value)) {
      this.problems.push(`${path} must be a {shape, data} tensor`)
      return undefined
    }
    const { shape, data } = value
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && (d as number) >= 0)) {
      this.problems.push(`${path}.shape must be an array of non-negative integers`)
      return undefined
    }
    if (!Array.isArray(data) || !data.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      this.problems.push(`${path}.data must be an array of finite numbers`)
      return undefined
    }
    const size = (shape as number[]).reduce((n, d) => n * d, 1)
    if (data.length !== size) {
      this.problems.push(`${path} has ${data.length} values but its shape ${formatShape(shape as number[])} holds ${size}`)
      return undefined
    }
    if (expected && (shape.length !== expected.length || shape.some((d, i) => d !== expected[i]))) {
      this.problems.push(`${path} has shape ${formatShape(shape as number[])}, expected ${formatShape(expected)}`)
      return undefined
    }
    return value as unknown as FixtureTensor
  }

  /** An object of named tensors holding exactly the expected names, each of its shape. */
  namedTensors(path: string, expected: ReadonlyMap<string, readonly number[]>): Record<string, FixtureTensor> | undefined {
    const value = this.object(path)
    if (value === undefined) return undefined
    const before = this.problems.length
    for (const [name, shape] of expected) {
      if (!Object.hasOwn(value, name)) this.problems.push(`missing field ${path}.${name}`)
      else this.checkTensor(`${path}.${name}`, value[name], shape)
    }
    for (const name of Object.keys(value)) {
      if (!expected.has(name)) this.problems.push(`${path}.${name} is not a tensor of this case (expected ${[...expected.keys()].join(', ')})`)
    }
    return this.problems.length === before ? (value as Record<string, FixtureTensor>) : undefined
  }

  /** A non-empty array of tensors; `shapes(i)` gives the expected shape of item i. */
  tensorList(path: string, options: { length?: number; shape?: (index: number) => readonly number[] | undefined } = {}): FixtureTensor[] | undefined {
    const value = this.required(path)
    if (value === undefined) return undefined
    if (!Array.isArray(value) || value.length === 0) {
      this.problems.push(`${path} must be a non-empty array of tensors`)
      return undefined
    }
    if (options.length !== undefined && value.length !== options.length) {
      this.problems.push(`${path} has ${value.length} tensors, expected ${options.length}`)
      return undefined
    }
    const before = this.problems.length
    value.forEach((item, i) => this.checkTensor(`${path}[${i}]`, item, options.shape?.(i)))
    return this.problems.length === before ? (value as FixtureTensor[]) : undefined
  }

  fail(message: string): void {
    this.problems.push(message)
  }
}
