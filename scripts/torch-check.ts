/**
 * Measures, against real PyTorch, that the README's script rebuilds seqserve models from
 * their safetensors export alone and predicts what GET /predict answers. Not part of
 * `npm test` (CI machines have no PyTorch); run it where torch is installed:
 *
 *   npx tsx scripts/torch-check.ts [--python=/usr/bin/python3]
 *
 * Trains a matrix of small jobs (every task x rnn/lstm/gru, multi-layer, bidirectional,
 * proj_size) in-process, downloads each model's safetensors (and ONNX), asks /predict, then
 * runs the README's Python on the same inputs. With the `onnx` Python package present it
 * also runs onnx.checker (full_check) on every ONNX export.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'

const python = process.argv.find((a) => a.startsWith('--python='))?.slice('--python='.length) ?? '/usr/bin/python3'
const dir = mkdtempSync(join(tmpdir(), 'seqserve-torch-check-'))

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
const match = /<!-- torch-from-card:start -->\n```python\n([\s\S]*?)```\n<!-- torch-from-card:end -->/.exec(readme)
if (!match) throw new Error('README has no torch-from-card script')
writeFileSync(join(dir, 'seqserve_torch.py'), match[1])

const text = 'the cat sat on the mat; the dog sat on the log. '.repeat(4)
const series = Array.from({ length: 60 }, (_, i) => [Math.sin(i / 4) * 3 + 1, Math.cos(i / 5) * 0.5 - 2])
const DATA = {
  pairs: { type: 'pairs', pairs: ['hello', 'world', 'ﬁsh😀', 'abcde'].map((w) => ({ input: w, target: [...w].slice(1).join('') + [...w][0] })) },
  text: { type: 'text', text, seq_len: 16 },
  classes: { type: 'classes', examples: [['aab', 'a'], ['abb', 'b'], ['bbb', 'b'], ['aaa', 'a'], ['cab', 'c'], ['ccb', 'c']].map(([input, label]) => ({ input, label })) },
  series: { type: 'series', series, window: 8, horizon: 4 },
} as const
const INPUTS: Record<keyof typeof DATA, string[]> = {
  pairs: ['hello', 'ﬁsh😀', 'dlrow'],
  text: ['the ', 'on t', 'd'],
  classes: ['aab', 'cab', 'bbbbbba'],
  series: [series.slice(-12).map((r) => r.join(',')).join(';')],
}
const MODELS = [
  { type: 'rnn' }, { type: 'rnn', nonlinearity: 'relu', num_layers: 2 }, { type: 'lstm' }, { type: 'gru' },
  { type: 'lstm', num_layers: 2, bidirectional: true }, { type: 'gru', num_layers: 2, bidirectional: true },
  { type: 'lstm', hidden_size: 12, proj_size: 5 },
]

const config = { ...loadConfig({ DATABASE_PATH: ':memory:', LOG_LEVEL: 'silent', WORKERS: '2' }), maxEventLoopDelayMs: 0 }
const app = await buildApp({ config, logger: false })
await app.listen({ host: '127.0.0.1', port: 0 })
app.runner!.start()
const address = app.server.address() as { port: number }
const base = `http://127.0.0.1:${address.port}`

interface Case { name: string; job: string; task: string; inputs: string[]; served: unknown[]; file: string; onnx: string | null }
const cases: Case[] = []
try {
  const jobs: { name: string; id: string; task: keyof typeof DATA }[] = []
  for (const task of Object.keys(DATA) as (keyof typeof DATA)[]) {
    for (const model of MODELS) {
      const name = `${task}-${Object.values(model).join('-')}`
      const body = { name, model: { hidden_size: 10, ...model }, data: DATA[task], training: { epochs: 30, learning_rate: 0.03, batch_size: 4 } }
      const r = await fetch(`${base}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      if (r.status !== 202) throw new Error(`${name}: ${r.status} ${await r.text()}`)
      jobs.push({ name, id: ((await r.json()) as { id: string }).id, task })
    }
  }
  for (const job of jobs) {
    for (;;) {
      const status = ((await (await fetch(`${base}/jobs/${job.id}`)).json()) as { status: string }).status
      if (status === 'succeeded') break
      if (status === 'failed' || status === 'cancelled') throw new Error(`${job.name} ${status}`)
      await new Promise((r) => setTimeout(r, 100))
    }
    const file = join(dir, `${job.name}.safetensors`)
    writeFileSync(file, new Uint8Array(await (await fetch(`${base}/jobs/${job.id}/weights?format=safetensors`)).arrayBuffer()))
    const onnxResponse = await fetch(`${base}/jobs/${job.id}/weights?format=onnx`)
    let onnx: string | null = null
    if (onnxResponse.status === 200) {
      onnx = join(dir, `${job.name}.onnx`)
      writeFileSync(onnx, new Uint8Array(await onnxResponse.arrayBuffer()))
    }
    const served: unknown[] = []
    for (const input of INPUTS[job.task]) {
      const q = new URLSearchParams({ job: job.id, input, length: '20', temperature: '0' })
      const p = (await (await fetch(`${base}/predict?${q}`)).json()) as { output: unknown; probabilities?: unknown }
      served.push(job.task === 'classes' ? p.probabilities : job.task === 'series' ? (p.output as number[][]) : p.output)
    }
    cases.push({ name: job.name, job: job.id, task: job.task, inputs: INPUTS[job.task], served, file, onnx })
  }
} finally {
  await app.close()
}
writeFileSync(join(dir, 'cases.json'), JSON.stringify(cases))

const driver = `
import json, sys
sys.path.insert(0, ${JSON.stringify(dir)})
from seqserve_torch import load, predict
cases = json.load(open(${JSON.stringify(join(dir, 'cases.json'))}))
try:
    import onnx
except ImportError:
    onnx = None
exact = total = 0; worst = 0.0; checked = 0
for c in cases:
    card, net = load(c['file'])
    for inp, served in zip(c['inputs'], c['served']):
        got = predict(card, net, inp, 20) if c['task'] == 'text' else predict(card, net, inp)
        total += 1
        if c['task'] in ('pairs', 'text'):
            ok = got == served; exact += ok; d = 0.0 if ok else float('inf')
        elif c['task'] == 'classes':
            d = max(abs(got[k] - served[k]) for k in served); exact += d < 1e-9
        else:
            d = max(abs(a - b) for ga, sa in zip(got, served) for a, b in zip(ga, sa)); exact += d < 1e-9
        worst = max(worst, d)
        print(f"{c['name']:32s} {inp[:20]!r:24s} {'OK ' if d < 1e-9 else 'DIFF'} max|diff|={d:.2e}")
    if onnx and c['onnx']:
        onnx.checker.check_model(onnx.load(c['onnx']), full_check=True); checked += 1
print(f"torch {__import__('torch').__version__}: {exact}/{total} predictions equal (worst |diff| {worst:.2e}); onnx.checker full_check passed on {checked} exports" + ('' if onnx else ' (onnx not installed)'))
sys.exit(0 if exact == total else 1)
`
writeFileSync(join(dir, 'driver.py'), driver)
try {
  process.stdout.write(execFileSync(python, [join(dir, 'driver.py')], { env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' }, encoding: 'utf8' }))
} catch (err) {
  process.stdout.write(String((err as { stdout?: string }).stdout ?? ''))
  process.stderr.write(String((err as { stderr?: string }).stderr ?? err))
  process.exitCode = 1
}
