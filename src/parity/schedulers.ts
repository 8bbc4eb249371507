/**
 * The learning-rate schedule reference format (shared/fixtures/README.md, "torch_schedulers.json"):
 * `{"generated_with", "cases": [{scheduler, options, base_lr, steps, lrs, optimizer?, momentums?,
 * metrics?}]}`. Each case is replayed through the engine's scheduler: the lr (and the SGD
 * momentum or Adam beta1, when given) in effect for every step must match PyTorch's within
 * 1e-12 relative. A case that does not follow the format fails with what is wrong.
 */
import { createScheduler } from '../engine/schedulers/create.js'
import type { OptimizerHandle } from '../engine/schedulers/types.js'
import type { CaseResult } from './compare.js'

export const SCHEDULE_TOLERANCE = 1e-12

/** The scheduler format is the one whose top level holds a `cases` list (the reference format has none). */
export function isSchedulerFile(json: unknown): boolean {
  return typeof json === 'object' && json !== null && !Array.isArray(json) && 'cases' in json
}

/** The optimizer a case drives: SGD with momentum 0.9 unless it says adam (beta1 0.9 by default). */
function optimizerOf(value: unknown, baseLr: number): OptimizerHandle {
  if (value === undefined || value === 'sgd') return { lr: baseLr, kind: 'momentum', momentum: 0.9 }
  if (value === 'adam' || value === 'adamw') return { lr: baseLr, kind: 'beta1', momentum: 0.9 }
  throw new Error(`optimizer must be "sgd" or "adam" (omitted: sgd), got ${JSON.stringify(value)}`)
}

function numberList(c: Record<string, unknown>, key: string, length: number): number[] {
  const v = c[key]
  if (!Array.isArray(v)) throw new Error(`${key} must be a list of numbers, got ${v === undefined ? 'nothing' : JSON.stringify(v).slice(0, 40)}`)
  if (v.length !== length) throw new Error(`${key} has ${v.length} values for ${length} steps`)
  const bad = v.findIndex((x) => typeof x !== 'number' || !Number.isFinite(x))
  if (bad >= 0) throw new Error(`${key}[${bad}] is not a finite number: ${JSON.stringify(v[bad])}`)
  return v as number[]
}

/** Largest relative error of `ours` against `ref`, and where; exact equality counts as 0 (also for 0). */
function worstRelative(ours: readonly number[], ref: readonly number[]): { err: number; at: number } {
  let worst = { err: 0, at: -1 }
  ref.forEach((r, k) => {
    const err = ours[k] === r ? 0 : Math.abs(ours[k] - r) / Math.abs(r)
    const e = Number.isNaN(err) ? Infinity : err
    if (e > worst.err) worst = { err: e, at: k }
  })
  return worst
}

export function scheduleCaseName(c: unknown, index: number): string {
  const rec = (typeof c === 'object' && c !== null ? c : {}) as Record<string, unknown>
  const scheduler = typeof rec.scheduler === 'string' ? rec.scheduler : '?'
  const options = rec.options === undefined ? '' : ` ${JSON.stringify(rec.options)}`
  return `cases[${index}] ${scheduler}${options}${typeof rec.optimizer === 'string' ? ` ${rec.optimizer}` : ''}`
}

export function checkScheduleCase(raw: unknown, index: number): CaseResult {
  const name = scheduleCaseName(raw, index)
  try {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('a case must be an object')
    const c = raw as Record<string, unknown>
    if (typeof c.scheduler !== 'string') throw new Error('scheduler (PyTorch class name) is missing')
    const baseLr = c.base_lr
    if (typeof baseLr !== 'number' || !(baseLr > 0) || !Number.isFinite(baseLr)) throw new Error(`base_lr must be a number > 0, got ${JSON.stringify(baseLr)}`)
    const steps = c.steps
    if (typeof steps !== 'number' || !Number.isInteger(steps) || steps < 1) throw new Error(`steps must be an integer >= 1, got ${JSON.stringify(steps)}`)
    const lrs = numberList(c, 'lrs', steps)
    const momentums = c.momentums === undefined ? null : numberList(c, 'momentums', steps)
    const optimizer = optimizerOf(c.optimizer, baseLr)
    const scheduler = createScheduler(c.scheduler, (c.options ?? {}) as Record<string, unknown>, optimizer)
    const metrics = scheduler.needsMetric ? numberList(c, 'metrics', steps) : null
    const ourLrs: number[] = []
    const ourMomentums: number[] = []
    for (let k = 0; k < steps; k++) {
      ourLrs.push(scheduler.lr)
      ourMomentums.push(scheduler.momentum ?? optimizer.momentum)
      if (k < steps - 1) scheduler.step(metrics ? metrics[k] : undefined)
    }
    const failures: string[] = []
    let worst = 0
    for (const [label, ours, ref] of [['lr', ourLrs, lrs], ['momentum', ourMomentums, momentums]] as const) {
      if (ref === null) continue
      const w = worstRelative(ours, ref)
      worst = Math.max(worst, w.err)
      if (w.err > SCHEDULE_TOLERANCE) failures.push(`${label} at step ${w.at}: ${ours[w.at]} vs ${ref[w.at]} (rel err ${w.err.toExponential(2)} > ${SCHEDULE_TOLERANCE})`)
    }
    const compared = momentums ? `${steps} lrs and momentums` : `${steps} lrs`
    return failures.length === 0
      ? { name, ok: true, detail: `${compared}, max rel err ${worst.toExponential(2)}` }
      : { name, ok: false, detail: failures.join('; ') }
  } catch (err) {
    return { name, ok: false, detail: `error: ${(err as Error).message}` }
  }
}

/** Every case of a scheduler file; a file without a list of cases is one failed result. */
export function runScheduleParity(json: unknown): CaseResult[] {
  const cases = (json as { cases?: unknown }).cases
  if (!Array.isArray(cases) || cases.length === 0) {
    return [{ name: 'cases', ok: false, detail: `error: cases must be a non-empty list of scheduler cases, got ${JSON.stringify(cases)?.slice(0, 40)}` }]
  }
  return cases.map(checkScheduleCase)
}
