/**
 * Learning-rate schedules against PyTorch's own values: the shared torch_schedulers.json (a
 * vendored copy) and torch_schedulers_extra.json (made by torch 1.13 with other options:
 * test/fixtures/make_torch_schedulers_extra.py). The checker behind `npm run parity` rejects a
 * value just outside 1e-12 relative and files that break the format, naming what is wrong.
 */
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import t from 'tap'
import { SCHEDULE_TOLERANCE, isSchedulerFile, runScheduleParity } from '../../src/parity/schedulers.js'
import { REPO_ROOT } from '../helpers/engine.js'

const VENDORED = resolve(REPO_ROOT, 'test/fixtures/torch_schedulers.json')
const EXTRA = resolve(REPO_ROOT, 'test/fixtures/torch_schedulers_extra.json')
const SHARED = resolve(REPO_ROOT, '../shared/fixtures/torch_schedulers.json')

interface Case { scheduler: string; options?: Record<string, unknown>; base_lr: number; steps: number; lrs: number[]; momentums?: number[]; metrics?: number[]; optimizer?: string }
interface ScheduleFile { generated_with: string; cases: Case[] }
const load = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as ScheduleFile
const shared = load(VENDORED)
const extra = load(EXTRA)

for (const [label, file] of [['torch_schedulers.json', shared], ['torch_schedulers_extra.json', extra]] as const) {
  t.test(`every case of ${label} matches PyTorch within ${SCHEDULE_TOLERANCE} relative`, async (t) => {
    t.ok(isSchedulerFile(file), 'recognised as a scheduler file by its shape')
    const results = runScheduleParity(file)
    t.equal(results.length, file.cases.length, 'one result per case')
    for (const r of results) t.ok(r.ok, `${r.name}: ${r.detail}`)
    const names = new Set(file.cases.map((c) => c.scheduler))
    for (const s of ['StepLR', 'MultiStepLR', 'ExponentialLR', 'CosineAnnealingLR', 'OneCycleLR', 'ReduceLROnPlateau']) t.ok(names.has(s), `covers ${s}`)
  })
}

t.test('the reference-vector format is not mistaken for the scheduler format', async (t) => {
  t.notOk(isSchedulerFile({ cells: [], optimizers: [] }), 'cells/optimizers file')
  t.notOk(isSchedulerFile([]), 'a list')
  t.notOk(isSchedulerFile(null), 'null')
})

const one = (c: Case) => ({ generated_with: 'test', cases: [structuredClone(c)] })
const find = (name: string, predicate: (c: Case) => boolean = () => true) => [...shared.cases, ...extra.cases].find((c) => c.scheduler === name && predicate(c))!

t.test('a value just outside the tolerance fails, just inside passes', async (t) => {
  for (const [name, key] of [['OneCycleLR', 'lrs'], ['OneCycleLR', 'momentums'], ['CosineAnnealingLR', 'lrs'], ['ReduceLROnPlateau', 'lrs']] as const) {
    const base = find(name)
    const k = Math.floor(base.steps / 2)
    const nudged = (factor: number) => {
      const c = structuredClone(base)
      c[key]![k] *= 1 + factor
      return runScheduleParity(one(c))[0]
    }
    const outside = nudged(5 * SCHEDULE_TOLERANCE)
    t.notOk(outside.ok, `${name} ${key}[${k}] x (1 + 5e-12): not ok`)
    t.match(outside.detail, new RegExp(`${key === 'lrs' ? 'lr' : 'momentum'} at step ${k}:`), 'names the quantity and step')
    t.ok(nudged(SCHEDULE_TOLERANCE / 5).ok, `${name} ${key}[${k}] x (1 + 2e-13): ok`)
  }
})

t.test('mutated files fail clearly: missing fields, bad values, unknown names', async (t) => {
  const step = find('StepLR')
  const plateau = find('ReduceLROnPlateau')
  const cycle = find('OneCycleLR')
  const cases: [string, Case | unknown, RegExp][] = [
    ['no lrs', { ...step, lrs: undefined }, /lrs must be a list of numbers, got nothing/],
    ['lrs shorter than steps', { ...step, lrs: step.lrs.slice(1) }, /lrs has 29 values for 30 steps/],
    ['a non-number lr', { ...step, lrs: [...step.lrs.slice(0, 3), 'x', ...step.lrs.slice(4)] }, /lrs\[3\] is not a finite number/],
    ['no steps', { ...step, steps: undefined }, /steps must be an integer >= 1/],
    ['base_lr 0', { ...step, base_lr: 0 }, /base_lr must be a number > 0/],
    ['no scheduler', { ...step, scheduler: undefined }, /scheduler .* is missing/],
    ['unknown scheduler', { ...step, scheduler: 'CyclicLR' }, /unknown scheduler "CyclicLR"/],
    ['unknown option', { ...step, options: { step_size: 3, gama: 0.5 } }, /StepLR: gama is not an option/],
    ['missing required option', { ...step, options: {} }, /StepLR: step_size is required/],
    ['string option', { ...step, options: { step_size: '3' } }, /step_size must be a finite number/],
    ['plateau without metrics', { ...plateau, metrics: undefined }, /metrics must be a list/],
    ['plateau factor 1', { ...plateau, options: { factor: 1.0 } }, /factor must be < 1.0/],
    ['plateau bad mode', { ...plateau, options: { mode: 'lowest' } }, /mode must be one of "min", "max"/],
    ['one-cycle without total_steps', { ...cycle, options: { max_lr: 0.5 } }, /total_steps is required/],
    ['one-cycle bad anneal', { ...cycle, options: { ...cycle.options, anneal_strategy: 'cubic' } }, /anneal_strategy must be one of/],
    ['one-cycle pct_start 2', { ...cycle, options: { ...cycle.options, pct_start: 2 } }, /pct_start must be between 0 and 1/],
    ['unknown optimizer', { ...cycle, optimizer: 'lbfgs' }, /optimizer must be "sgd" or "adam"/],
    ['momentums of the wrong length', { ...cycle, momentums: [0.95] }, /momentums has 1 values/],
    ['a case that is not an object', 42, /a case must be an object/],
  ]
  for (const [label, c, pattern] of cases) {
    const [r] = runScheduleParity({ cases: [c] })
    t.notOk(r.ok, `${label}: not ok`)
    t.match(r.detail, pattern, `${label}: ${r.detail}`)
  }
  for (const file of [{ cases: [] }, { cases: 'all' }]) {
    const results = runScheduleParity(file)
    t.same(results.map((r) => r.ok), [false], `${JSON.stringify(file)}: one failed result`)
    t.match(results[0].detail, /cases must be a non-empty list/)
  }
})

function runCli(args: string[]): Promise<{ status: number | null; lines: string[] }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('npx', ['tsx', 'scripts/parity.ts', ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
    let stdout = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.on('error', reject)
    child.on('close', (status) => resolvePromise({ status, lines: stdout.trimEnd().split('\n') }))
  })
}

t.test('npm run parity dispatches scheduler files by their shape', async (t) => {
  const broken = structuredClone(shared)
  broken.cases[6].lrs[3] *= 1.001
  const path = join(t.testdir({}), 'broken.json')
  writeFileSync(path, JSON.stringify(broken))
  const [good, bad] = await Promise.all([runCli([VENDORED, EXTRA]), runCli([path])])
  const total = shared.cases.length + extra.cases.length
  t.equal(good.status, 0, 'both files: exit 0')
  t.equal(good.lines.at(-1), `${total} passed, 0 failed`, 'both files: every case passes')
  t.equal(good.lines.length, total + 1, 'one line per case, then the summary')
  t.equal(bad.status, 1, 'a moved lr: exit 1')
  t.equal(bad.lines.at(-1), `${shared.cases.length - 1} passed, 1 failed`)
  t.match(bad.lines.find((l) => l.startsWith('not ok')), /^not ok cases\[6\] OneCycleLR .*lr at step 3/)
})

t.test('the vendored scheduler file is a verbatim copy of the shared one', async (t) => {
  if (!existsSync(SHARED)) {
    t.pass('no shared fixtures beside this checkout; the vendored copy is used as is')
    return
  }
  t.ok(readFileSync(SHARED).equals(readFileSync(VENDORED)), 'test/fixtures/torch_schedulers.json equals ../shared/fixtures/torch_schedulers.json')
})
