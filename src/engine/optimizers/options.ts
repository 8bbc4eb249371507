/**
 * Defaults and validation of optimizer options. Defaults are PyTorch's (torch.optim, 2.x).
 * Validation is PyTorch's, made a little stricter where PyTorch accepts values that can only be
 * a configuration mistake (momentum/alpha >= 1, options that do not apply to the optimizer).
 */
import type {
  AdagradOptionsResolved,
  AdamOptionsResolved,
  OptimizerName,
  OptimizerOptions,
  RmspropOptionsResolved,
  SgdOptionsResolved,
} from './types.js'

type OptionKey = keyof OptimizerOptions

const APPLICABLE: Record<OptimizerName, readonly OptionKey[]> = {
  adam: ['lr', 'betas', 'eps', 'weight_decay', 'amsgrad', 'maximize'],
  adamw: ['lr', 'betas', 'eps', 'weight_decay', 'amsgrad', 'maximize'],
  sgd: ['lr', 'momentum', 'dampening', 'nesterov', 'weight_decay', 'maximize'],
  rmsprop: ['lr', 'alpha', 'eps', 'weight_decay', 'momentum', 'centered', 'maximize'],
  adagrad: ['lr', 'lr_decay', 'weight_decay', 'initial_accumulator_value', 'eps', 'maximize'],
}

/** Reject keys that do not belong to `name` (PyTorch raises TypeError for unknown kwargs too). */
function checkApplicable(name: OptimizerName, options: OptimizerOptions): void {
  if (options === null || typeof options !== 'object') {
    throw new RangeError(`${name}: options must be an object with at least 'lr'`)
  }
  const allowed = APPLICABLE[name]
  for (const key of Object.keys(options)) {
    if ((options as unknown as Record<string, unknown>)[key] === undefined) continue
    if (!allowed.includes(key as OptionKey)) {
      throw new RangeError(`${name}: option '${key}' does not apply (allowed: ${allowed.join(', ')})`)
    }
  }
}

interface Bounds {
  min: number
  minInclusive: boolean
  max: number
  maxInclusive: boolean
}

const NON_NEGATIVE: Bounds = { min: 0, minInclusive: true, max: Infinity, maxInclusive: false }
const POSITIVE: Bounds = { min: 0, minInclusive: false, max: Infinity, maxInclusive: false }
const UNIT_HALF_OPEN: Bounds = { min: 0, minInclusive: true, max: 1, maxInclusive: false }
const UNIT_CLOSED: Bounds = { min: 0, minInclusive: true, max: 1, maxInclusive: true }

function describe(b: Bounds): string {
  if (b.max === Infinity) return b.minInclusive ? `>= ${b.min}` : `> ${b.min}`
  return `in ${b.minInclusive ? '[' : '('}${b.min}, ${b.max}${b.maxInclusive ? ']' : ')'}`
}

function num(name: OptimizerName, key: string, value: unknown, fallback: number, bounds: Bounds): number {
  const v = value === undefined ? fallback : value
  const ok =
    typeof v === 'number' &&
    Number.isFinite(v) &&
    (bounds.minInclusive ? v >= bounds.min : v > bounds.min) &&
    (bounds.maxInclusive ? v <= bounds.max : v < bounds.max)
  if (!ok) throw new RangeError(`${name}: ${key} must be a finite number ${describe(bounds)}, got ${String(v)}`)
  return v as number
}

function bool(name: OptimizerName, key: string, value: unknown, fallback: boolean): boolean {
  const v = value === undefined ? fallback : value
  if (typeof v !== 'boolean') throw new RangeError(`${name}: ${key} must be a boolean, got ${String(v)}`)
  return v
}

function lr(name: OptimizerName, options: OptimizerOptions): number {
  return num(name, 'lr', options.lr, NaN, POSITIVE)
}

export function resolveAdamOptions(name: 'adam' | 'adamw', o: OptimizerOptions): AdamOptionsResolved {
  checkApplicable(name, o)
  const betas = o.betas === undefined ? [0.9, 0.999] : o.betas
  if (!Array.isArray(betas) || betas.length !== 2) {
    throw new RangeError(`${name}: betas must be a pair [beta1, beta2]`)
  }
  return Object.freeze({
    lr: lr(name, o),
    betas: Object.freeze([
      num(name, 'betas[0]', betas[0], NaN, UNIT_HALF_OPEN),
      num(name, 'betas[1]', betas[1], NaN, UNIT_HALF_OPEN),
    ] as const),
    eps: num(name, 'eps', o.eps, 1e-8, NON_NEGATIVE),
    // AdamW's decoupled decay defaults to 1e-2; Adam's L2 penalty defaults to off.
    weight_decay: num(name, 'weight_decay', o.weight_decay, name === 'adamw' ? 1e-2 : 0, NON_NEGATIVE),
    amsgrad: bool(name, 'amsgrad', o.amsgrad, false),
    maximize: bool(name, 'maximize', o.maximize, false),
  })
}

export function resolveSgdOptions(o: OptimizerOptions): SgdOptionsResolved {
  checkApplicable('sgd', o)
  const resolved = {
    lr: lr('sgd', o),
    momentum: num('sgd', 'momentum', o.momentum, 0, UNIT_HALF_OPEN),
    dampening: num('sgd', 'dampening', o.dampening, 0, UNIT_CLOSED),
    nesterov: bool('sgd', 'nesterov', o.nesterov, false),
    weight_decay: num('sgd', 'weight_decay', o.weight_decay, 0, NON_NEGATIVE),
    maximize: bool('sgd', 'maximize', o.maximize, false),
  }
  if (resolved.nesterov && (resolved.momentum <= 0 || resolved.dampening !== 0)) {
    throw new RangeError('sgd: nesterov requires momentum > 0 and dampening = 0')
  }
  return Object.freeze(resolved)
}

export function resolveRmspropOptions(o: OptimizerOptions): RmspropOptionsResolved {
  checkApplicable('rmsprop', o)
  return Object.freeze({
    lr: lr('rmsprop', o),
    alpha: num('rmsprop', 'alpha', o.alpha, 0.99, UNIT_HALF_OPEN),
    eps: num('rmsprop', 'eps', o.eps, 1e-8, NON_NEGATIVE),
    weight_decay: num('rmsprop', 'weight_decay', o.weight_decay, 0, NON_NEGATIVE),
    momentum: num('rmsprop', 'momentum', o.momentum, 0, UNIT_HALF_OPEN),
    centered: bool('rmsprop', 'centered', o.centered, false),
    maximize: bool('rmsprop', 'maximize', o.maximize, false),
  })
}

export function resolveAdagradOptions(o: OptimizerOptions): AdagradOptionsResolved {
  checkApplicable('adagrad', o)
  return Object.freeze({
    lr: lr('adagrad', o),
    lr_decay: num('adagrad', 'lr_decay', o.lr_decay, 0, NON_NEGATIVE),
    weight_decay: num('adagrad', 'weight_decay', o.weight_decay, 0, NON_NEGATIVE),
    initial_accumulator_value: num(
      'adagrad',
      'initial_accumulator_value',
      o.initial_accumulator_value,
      0,
      NON_NEGATIVE,
    ),
    eps: num('adagrad', 'eps', o.eps, 1e-10, NON_NEGATIVE),
    maximize: bool('adagrad', 'maximize', o.maximize, false),
  })
}
