/**
 * The parity checker reads the reference format strictly: a file with data deleted,
 * renamed, truncated or reshaped fails, naming the field, instead of passing with fewer
 * comparisons. Each mutation of the issue runs through the CLI (`scripts/parity.ts`, the
 * code of `npm run parity`), which must exit 1; more go through `checkParsed` directly.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { checkParsed, loadFixture } from '../../src/parity/run.js'
import { REPO_ROOT, fixturePath } from '../helpers/engine.js'

const reference = loadFixture(fixturePath())

/** A deep copy of the reference file as plain JSON, to edit. */
const copy = (): any => structuredClone(reference)
const firstIndex = (list: any[], pick: (c: any) => boolean) => {
  const index = list.findIndex(pick)
  if (index < 0) throw new Error('the reference file has no such case')
  return index
}
const lstmCell = firstIndex(reference.cells!, (c) => c.mode === 'lstm')

interface Mutation {
  what: string
  /** Returns the edited file (any JSON value or raw text). */
  make: () => unknown
  /** The failure line must match this: it names the field. */
  names: RegExp
}

/** The cases of the issue: each must make `npm run parity` exit 1 with a message naming the field. */
const ISSUE_CASES: Mutation[] = [
  { what: 'deleting outputs.c_n', make: () => { const f = copy(); delete f.cells[lstmCell].outputs.c_n; return f }, names: new RegExp(`^not ok cells\\[${lstmCell}\\]: missing field outputs\\.c_n`) },
  { what: 'deleting a whole grads object', make: () => { const f = copy(); delete f.cells[0].grads; return f }, names: /^not ok cells\[0\]: missing field grads$/ },
  { what: 'deleting one gradient tensor', make: () => { const f = copy(); delete f.cells[0].grads.weight_hh_l0; return f }, names: /^not ok cells\[0\]: missing field grads\.weight_hh_l0$/ },
  { what: "deleting an optimizer's expected steps", make: () => { const f = copy(); delete f.optimizers[0].params_after_each_step; return f }, names: /^not ok optimizers\[0\]: missing field params_after_each_step$/ },
  { what: "deleting a trajectory's final_params", make: () => { const f = copy(); delete f.trajectories[0].final_params; return f }, names: /^not ok trajectories\[0\]: missing field final_params$/ },
  {
    what: 'truncating grads.h0 to half',
    make: () => { const f = copy(); const h0 = f.cells[0].grads.h0; h0.data = h0.data.slice(0, h0.data.length / 2); return f },
    names: /^not ok cells\[0\]: grads\.h0 has \d+ values but its shape \[[\d, ]+\] holds \d+$/,
  },
  { what: 'renaming cells', make: () => { const f = copy(); f.cellz = f.cells; delete f.cells; return f }, names: /^not ok .*: unknown top-level section "cellz"/ },
  { what: 'an empty object', make: () => ({}), names: /^not ok .*: the file has no cases$/ },
  { what: 'an empty file', make: () => '', names: /^not ok .*: the file is empty$/ },
  { what: 'sections without cases', make: () => ({ cells: [], generated_by: 'nobody' }), names: /^not ok .*: the file has no cases$/ },
]

interface CliRun { status: number | null; stdout: string }

function runCli(file: string): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/parity.ts', file], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
    let stdout = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.on('error', reject)
    child.on('close', (status) => resolve({ status, stdout }))
  })
}

t.test('each mutation of the issue makes `npm run parity` exit 1, naming the field', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'seqserve-parity-strict-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const files = ISSUE_CASES.map((m, i) => {
    const file = join(dir, `mutation-${i}.json`)
    const made = m.make()
    writeFileSync(file, typeof made === 'string' ? made : JSON.stringify(made))
    return file
  })
  // Two at a time: the machine has two cores.
  const runs: CliRun[] = []
  for (let i = 0; i < files.length; i += 2) runs.push(...await Promise.all(files.slice(i, i + 2).map(runCli)))
  ISSUE_CASES.forEach((m, i) => {
    const run = runs[i]!
    t.equal(run.status, 1, `${m.what}: exit 1`)
    const failures = run.stdout.split('\n').filter((line) => line.startsWith('not ok'))
    t.ok(failures.some((line) => m.names.test(line)), `${m.what}: ${failures.join(' | ') || '(no failure line)'}`)
  })
})

/** One case of a section, edited, checked alone. */
function checkOne(section: 'cells' | 'trajectories' | 'optimizers' | 'losses' | 'clip_grad_norm', index: number, edit: (c: any) => void) {
  const c = structuredClone((reference[section] as unknown[])[index])
  edit(c)
  const report = checkParsed({ [section]: [c] })
  t.same(report.problems, [], 'no file-level problem')
  return report.results[0]!
}

const FIELD_CASES: { what: string; section: Parameters<typeof checkOne>[0]; index?: number; edit: (c: any) => void; names: RegExp }[] = [
  // Reshaped: the same numbers in another shape.
  { what: 'x transposed to [seq_len, batch, input]', section: 'cells', edit: (c) => { c.x.shape = [c.x.shape[1], c.x.shape[0], c.x.shape[2]] }, names: /^x has shape \[\d+, \d+, \d+\], expected|h0 has shape/ },
  { what: 'output flattened to 2-D', section: 'cells', edit: (c) => { const [b, s, w] = c.outputs.output.shape; c.outputs.output.shape = [b * s, w] }, names: /outputs\.output has shape \[\d+, \d+\], expected \[\d+, \d+, \d+\]/ },
  { what: 'a weight transposed', section: 'cells', edit: (c) => { c.params.weight_ih_l0.shape.reverse() }, names: /params\.weight_ih_l0 has shape/ },
  { what: 'a gradient of another shape', section: 'cells', edit: (c) => { c.grads.bias_hh_l0.shape = [1, ...c.grads.bias_hh_l0.shape] }, names: /grads\.bias_hh_l0 has shape/ },
  { what: 'a cross-entropy gradient reshaped', section: 'losses', edit: (c) => { c.grad_logits.shape.reverse() }, names: /grad_logits has shape/ },
  { what: 'an mse target reshaped', section: 'losses', index: reference.losses!.findIndex((c) => c.loss === 'mse'), edit: (c) => { c.target.shape.reverse() }, names: /target has shape/ },
  // Renamed fields.
  { what: 'h_n renamed', section: 'cells', edit: (c) => { c.outputs.hn = c.outputs.h_n; delete c.outputs.h_n }, names: /missing field outputs\.h_n.*outputs\.hn is not a tensor of this case/ },
  { what: 'a parameter renamed', section: 'cells', edit: (c) => { c.params.weight_ih = c.params.weight_ih_l0; delete c.params.weight_ih_l0 }, names: /missing field params\.weight_ih_l0/ },
  { what: 'a trajectory parameter renamed', section: 'trajectories', edit: (c) => { c.final_params['rnn.weight'] = c.final_params['rnn.weight_hh_l0']; delete c.final_params['rnn.weight_hh_l0'] }, names: /missing field final_params\.rnn\.weight_hh_l0/ },
  // Truncated lists.
  { what: 'a trajectory loss dropped', section: 'trajectories', edit: (c) => { c.losses.pop() }, names: /losses has \d+ values, expected \d+/ },
  { what: 'an optimizer step dropped', section: 'optimizers', edit: (c) => { c.params_after_each_step.pop() }, names: /params_after_each_step has \d+ tensors, expected \d+/ },
  { what: 'a clipped tensor dropped', section: 'clip_grad_norm', edit: (c) => { c.clipped.pop() }, names: /clipped has \d+ tensors, expected \d+/ },
  { what: 'a target dropped', section: 'losses', edit: (c) => { c.targets.pop() }, names: /targets has \d+ values, expected \d+/ },
  // Deleted or malformed scalars.
  { what: 'h0 deleted', section: 'cells', edit: (c) => { delete c.h0 }, names: /missing field h0/ },
  { what: 'c0 deleted from an LSTM', section: 'cells', index: lstmCell, edit: (c) => { delete c.c0 }, names: /missing field c0/ },
  { what: 'g_c_n deleted from an LSTM', section: 'cells', index: lstmCell, edit: (c) => { delete c.g_c_n }, names: /missing field g_c_n/ },
  { what: 'the mode misspelt', section: 'cells', edit: (c) => { c.mode = 'RNN' }, names: /mode must be one of/ },
  { what: 'a loss value deleted', section: 'losses', edit: (c) => { delete c.value }, names: /missing field value/ },
  { what: 'a total norm deleted', section: 'clip_grad_norm', edit: (c) => { delete c.total_norm }, names: /missing field total_norm/ },
  { what: 'a trajectory dtype deleted', section: 'trajectories', edit: (c) => { delete c.dtype }, names: /missing field dtype/ },
  { what: 'a number as a string', section: 'optimizers', edit: (c) => { c.p0.data[0] = String(c.p0.data[0]) }, names: /p0\.data must be an array of finite numbers/ },
  { what: 'a case that is not an object', section: 'optimizers', edit: () => undefined, names: /./ },
]

t.test('deleted, renamed, truncated and reshaped fields fail their case, naming the field', async (t) => {
  for (const m of FIELD_CASES) {
    const result = m.what === 'a case that is not an object'
      ? checkParsed({ optimizers: [42] }).results[0]!
      : checkOne(m.section, m.index ?? 0, m.edit)
    t.notOk(result.ok, `${m.what}: not ok`)
    t.match(result.detail, m.names, `${m.what}: ${result.detail}`)
  }
})

t.test('what the format allows passes: metadata, a subset of sections, optional fields', async (t) => {
  const withMetadata = { ...copy(), generated_with: 'torch 2.11' }
  const report = checkParsed(withMetadata)
  t.same(report.problems, [], 'generated_by and generated_with are metadata')
  t.ok(report.results.length > 0 && report.results.every((r) => r.ok), 'every case of the reference file passes')
  const noExtras = copy()
  for (const c of noExtras.cells) { delete c.batch; delete c.seq_len; delete c.batch_first; delete c.loss; delete c.loss_value }
  for (const c of noExtras.trajectories) delete c.char_set
  t.ok(checkParsed({ cells: noExtras.cells, trajectories: noExtras.trajectories }).results.every((r) => r.ok), 'fields the format does not define are not required')
  const notList = checkParsed({ cells: {} })
  t.match(notList.problems, [/section cells must be an array of cases/])
  const notObject = checkParsed([])
  t.match(notObject.problems, [/does not hold a JSON object/])
})
