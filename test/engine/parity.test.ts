/**
 * PyTorch parity: every case of the reference file passes through `runParity` (the code behind
 * `npm run parity`), the checker rejects numbers just outside its tolerances, and the CLI
 * reports and exits as documented.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { Fixture } from '../../src/parity/fixture.js'
import { loadFixture, runParity } from '../../src/parity/run.js'
import { REPO_ROOT, SHARED_FIXTURE, VENDORED_FIXTURE, fixturePath } from '../helpers/engine.js'

const FIXTURE = fixturePath()
const fixture = loadFixture(FIXTURE)
const SECTIONS = ['cells', 'trajectories', 'optimizers', 'losses', 'clip_grad_norm'] as const
type Section = (typeof SECTIONS)[number]
const caseCount = SECTIONS.reduce((n, s) => n + (fixture[s]?.length ?? 0), 0)

t.test(`every case of ${FIXTURE}`, async (t) => {
  for (const section of SECTIONS) t.ok((fixture[section]?.length ?? 0) >= 1, `the file has at least one ${section} case`)
  const results = runParity(fixture)
  t.equal(results.length, caseCount, 'one result per case')
  for (const r of results) t.ok(r.ok, `${r.name}: ${r.detail}`)
  // Results come section by section, in the order of the file.
  const expectedPrefixes = SECTIONS.flatMap((s) => (fixture[s] ?? []).map((_, i) => `${s}[${i}]`))
  t.same(results.map((r) => r.name.split(' ')[0]), expectedPrefixes, 'results are named after their cases, in file order')
})

/** A fixture holding only `section[index]` of the reference file, deep-copied so it can be edited. */
function single(section: Section, index: number): Fixture {
  const list = fixture[section] as unknown[] | undefined
  if (!list || !list[index]) throw new Error(`reference file has no ${section}[${index}]`)
  return { [section]: [structuredClone(list[index])] } as Fixture
}

/** v + rel * max(1, |v|): relative to the checker's own scale. */
function bump(data: number[], index: number, rel: number): void {
  const i = index < 0 ? data.length + index : index
  data[i] += rel * Math.max(1, Math.abs(data[i]))
}

/** An edit of one case, as plain JSON (hence `any`). */
interface Mutation {
  what: string
  section: Section
  /** Which case of the section to edit (the file may be any file of the format). */
  pick: (c: any) => boolean
  edit: (c: any, rel: number) => void
  /** Rejected at this size. */
  outside: number
  /** Accepted at this size (inside the tolerance). */
  inside: number
}

const paramGradKeys = (c: any): string[] => Object.keys(c.grads ?? {}).filter((k) => !['x', 'h0', 'c0'].includes(k))

// Tolerances (issue 2): cells, optimizers, losses, clipping 1e-5 * max(1, |ref|); a trajectory's
// final parameters 1e-4 * max(1, |ref|); per-epoch losses 1e-6 + 1e-3 * |ref|. Each number is
// moved 10x outside its tolerance (must fail) and 10x inside it (must still pass).
const MUTATIONS: Mutation[] = [
  { what: 'a cell output', section: 'cells', pick: () => true, edit: (c, r) => bump(c.outputs.output.data, -1, r), outside: 1e-4, inside: 1e-6 },
  { what: 'a cell h_n', section: 'cells', pick: () => true, edit: (c, r) => bump(c.outputs.h_n.data, 0, r), outside: 1e-4, inside: 1e-6 },
  { what: 'a cell c_n', section: 'cells', pick: (c) => !!c.outputs.c_n, edit: (c, r) => bump(c.outputs.c_n.data, 0, r), outside: 1e-4, inside: 1e-6 },
  {
    what: 'a cell weight gradient (the last tensor)', section: 'cells', pick: (c) => paramGradKeys(c).length > 0,
    edit: (c, r) => bump(c.grads[paramGradKeys(c).at(-1)!].data, -1, r), outside: 1e-4, inside: 1e-6,
  },
  { what: 'a cell input gradient', section: 'cells', pick: (c) => !!c.grads?.x, edit: (c, r) => bump(c.grads.x.data, 0, r), outside: 1e-4, inside: 1e-6 },
  {
    what: 'a trajectory\'s final parameter', section: 'trajectories', pick: () => true,
    edit: (c, r) => bump((Object.values(c.final_params).at(-1) as any).data, -1, r), outside: 1e-3, inside: 1e-5,
  },
  {
    what: 'a trajectory\'s epoch loss', section: 'trajectories', pick: (c) => c.losses.length > 0,
    edit: (c, r) => { c.losses[0] *= 1 + r }, outside: 1e-2, inside: 1e-4,
  },
  { what: 'an optimizer step', section: 'optimizers', pick: () => true, edit: (c, r) => bump(c.params_after_each_step.at(-1).data, 0, r), outside: 1e-4, inside: 1e-6 },
  { what: 'a loss value', section: 'losses', pick: () => true, edit: (c, r) => { c.value += r * Math.max(1, Math.abs(c.value)) }, outside: 1e-4, inside: 1e-6 },
  {
    what: 'a loss gradient', section: 'losses', pick: () => true,
    edit: (c, r) => bump((c.grad_logits ?? c.grad_pred).data, 0, r), outside: 1e-4, inside: 1e-6,
  },
  { what: 'a clipped gradient', section: 'clip_grad_norm', pick: () => true, edit: (c, r) => bump(c.clipped[0].data, 0, r), outside: 1e-4, inside: 1e-6 },
  { what: 'a total norm', section: 'clip_grad_norm', pick: () => true, edit: (c, r) => { c.total_norm += r * Math.max(1, c.total_norm) }, outside: 1e-4, inside: 1e-6 },
]

t.test('the checker rejects numbers just outside its tolerance and accepts them inside', async (t) => {
  for (const m of MUTATIONS) {
    const index = (fixture[m.section] as unknown[] | undefined)?.findIndex(m.pick) ?? -1
    if (index < 0) {
      t.comment(`skipped ${m.what}: the file has no such ${m.section} case`)
      continue
    }
    const label = `${m.what} of ${m.section}[${index}]`
    const wrong = single(m.section, index)
    m.edit((wrong[m.section] as unknown[])[0], m.outside)
    const [bad] = runParity(wrong)
    t.notOk(bad.ok, `${label} moved by ${m.outside}: not ok (${bad.detail})`)
    const near = single(m.section, index)
    m.edit((near[m.section] as unknown[])[0], m.inside)
    const [good] = runParity(near)
    t.ok(good.ok, `${label} moved by ${m.inside}: still ok (${good.detail})`)
  }
  const predicted = single('trajectories', 0)
  const traj = predicted.trajectories![0]
  traj.predicted = traj.predicted.slice(1) + traj.predicted[0]
  const [r] = runParity(predicted)
  t.notOk(r.ok, `a different predicted string is not ok (${r.detail})`)
})

interface CliRun {
  status: number | null
  lines: string[]
  stderr: string
}

function runCli(args: string[]): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('npx', ['tsx', 'scripts/parity.ts', ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    child.on('error', reject)
    child.on('close', (status) => resolve({ status, lines: stdout.trimEnd().split('\n'), stderr }))
  })
}

t.test('the CLI: npx tsx scripts/parity.ts FILE', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'seqserve-parity-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const write = (name: string, data: unknown): string => {
    const path = join(dir, name)
    writeFileSync(path, JSON.stringify(data))
    return path
  }

  const trajectoryBroken = structuredClone(fixture)
  bump(trajectoryBroken.trajectories![0].final_params['rnn.weight_hh_l0'].data, -1, 1e-2)
  const cellBroken = structuredClone(fixture)
  bump(cellBroken.cells![0].outputs.output.data, 0, 1e-2)
  const subset = { optimizers: fixture.optimizers, losses: fixture.losses }
  const subsetCount = (fixture.optimizers?.length ?? 0) + (fixture.losses?.length ?? 0)

  // The processes are independent: run them side by side.
  const [full, traj, cell, part, missing] = await Promise.all([
    runCli([FIXTURE]),
    runCli([write('trajectory.json', trajectoryBroken)]),
    runCli([write('cell.json', cellBroken)]),
    runCli([write('subset.json', subset)]),
    runCli([join(dir, 'absent.json')]),
  ])

  t.equal(full.status, 0, `reference file: exit 0 ${full.stderr}`)
  t.equal(full.lines.at(-1), `${caseCount} passed, 0 failed`, 'reference file: summary line')
  t.equal(full.lines.length, caseCount + 1, 'one line per case, then the summary')
  t.ok(full.lines.slice(0, -1).every((l) => l.startsWith('ok ')), 'every case line starts with "ok "')

  t.equal(traj.status, 1, 'trajectory final parameter + 1e-2: exit 1')
  t.equal(traj.lines.at(-1), `${caseCount - 1} passed, 1 failed`, 'trajectory final parameter + 1e-2: summary line')
  t.match(traj.lines.find((l) => l.startsWith('not ok')) ?? '', /^not ok trajectories\[0\] .*final rnn\.weight_hh_l0/, 'the trajectory is the failing case and names the tensor')

  t.equal(cell.status, 1, 'cell output + 1e-2: exit 1')
  t.equal(cell.lines.at(-1), `${caseCount - 1} passed, 1 failed`, 'cell output + 1e-2: summary line')
  t.match(cell.lines.find((l) => l.startsWith('not ok')) ?? '', /^not ok cells\[0\] .*output/, 'the cell is the failing case')

  t.equal(part.status, 0, 'a file with only some sections: exit 0')
  t.equal(part.lines.at(-1), `${subsetCount} passed, 0 failed`, 'a file with only some sections: its cases only')
  t.ok(part.lines.slice(0, -1).every((l) => /^ok (optimizers|losses)\[/.test(l)), 'only optimizer and loss cases are listed')

  t.equal(missing.status, 1, 'an unreadable file: exit 1')
  t.match(missing.lines[0], /^not ok .*absent\.json/, 'an unreadable file is reported as a failure')
})

t.test('the vendored reference file is a verbatim copy of the shared one', async (t) => {
  if (!existsSync(SHARED_FIXTURE)) {
    t.pass('no shared fixtures beside this checkout; the vendored copy is used as is')
    return
  }
  t.ok(readFileSync(SHARED_FIXTURE).equals(readFileSync(VENDORED_FIXTURE)), 'test/fixtures/torch_reference.json equals ../shared/fixtures/torch_reference.json')
})
