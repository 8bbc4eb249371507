import { SchedulerOptionError } from './types.js'

/**
 * Reads a scheduler's keyword arguments from an untyped record (a job's JSON or a reference
 * file), applying PyTorch's defaults and refusing what PyTorch refuses, with messages that
 * name the option. `verbose` and `last_epoch = -1` are PyTorch arguments that change nothing here.
 */
export class OptionReader {
  private readonly seen = new Set<string>(['verbose', 'last_epoch'])

  constructor(readonly scheduler: string, private readonly options: Record<string, unknown>) {
    if (options === null || typeof options !== 'object' || Array.isArray(options)) this.fail('options', 'must be an object')
    const lastEpoch = options.last_epoch
    if (lastEpoch !== undefined && lastEpoch !== -1) this.fail('last_epoch', `must be -1 (a fresh schedule), got ${JSON.stringify(lastEpoch)}`)
  }

  fail(key: string, problem: string): never {
    throw new SchedulerOptionError(`${this.scheduler}: ${key} ${problem}`)
  }

  private raw(key: string): unknown {
    this.seen.add(key)
    return this.options[key]
  }

  /** A number; PyTorch's per-group lists are accepted with one entry (there is one parameter group). */
  number(key: string, fallback: number | undefined, check: (v: number) => boolean = () => true, rule = 'is out of range'): number {
    let v = this.raw(key)
    if (Array.isArray(v) && v.length === 1) v = v[0]
    if (v === undefined || v === null) {
      if (fallback === undefined) this.fail(key, 'is required')
      return fallback
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(key, `must be a finite number, got ${JSON.stringify(v)}`)
    if (!check(v)) this.fail(key, `${rule}, got ${v}`)
    return v
  }

  positiveInteger(key: string, fallback?: number): number {
    return this.number(key, fallback, (v) => Number.isInteger(v) && v > 0, 'must be a positive integer')
  }

  optionalPositiveInteger(key: string): number | undefined {
    return this.raw(key) == null ? undefined : this.positiveInteger(key)
  }

  nonNegativeInteger(key: string, fallback: number): number {
    return this.number(key, fallback, (v) => Number.isInteger(v) && v >= 0, 'must be an integer >= 0')
  }

  boolean(key: string, fallback: boolean): boolean {
    const v = this.raw(key)
    if (v === undefined || v === null) return fallback
    if (typeof v !== 'boolean') this.fail(key, `must be true or false, got ${JSON.stringify(v)}`)
    return v
  }

  choice<T extends string>(key: string, choices: readonly T[], fallback: T): T {
    const v = this.raw(key)
    if (v === undefined || v === null) return fallback
    if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) {
      this.fail(key, `must be one of ${choices.map((c) => JSON.stringify(c)).join(', ')}, got ${JSON.stringify(v)}`)
    }
    return v as T
  }

  integerList(key: string): number[] {
    const v = this.raw(key)
    if (!Array.isArray(v) || v.some((m) => typeof m !== 'number' || !Number.isInteger(m) || m < 0)) {
      this.fail(key, `must be a list of integers >= 0, got ${JSON.stringify(v)}`)
    }
    return v as number[]
  }

  /** Call last: an option no reader asked for is a misspelling (PyTorch: unexpected keyword argument). */
  done(): void {
    const unknown = Object.keys(this.options).filter((k) => !this.seen.has(k))
    if (unknown.length > 0) this.fail(unknown[0], `is not an option of torch.optim.lr_scheduler.${this.scheduler}`)
  }
}
