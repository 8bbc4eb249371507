/**
 * Micro-benchmark of the GEMM kernels on the shapes the recurrent layers and the linear head use.
 *
 *   npx tsx scripts/bench-gemm.ts [--runs N] [--ms MS]
 *
 * For every kernel and shape: GFLOP/s (2·m·n·k per call, per CPU second of this process) as the
 * median of N timed runs (default 7) of ~MS milliseconds each (default 40), after every kernel has been warmed up on every shape
 * and on ragged edge shapes, so V8 optimises it with the feedback a real training run gives.
 *
 * Columns: a naive triple loop, the js kernels and the wasm (WebAssembly SIMD) kernels on
 * float64, then the same on float32. Each element type gets its own instance of each JS kernel
 * (the module is imported once per type and the naive loops are compiled per type), so neither
 * type's timings pay for polymorphic call sites; the wasm kernels get their operands in their
 * engine instance's memory, as in training.
 */
import { cpus } from 'node:os'
import { WasmBackend } from '../src/engine/backend/wasm.js'

type Buffer = Float64Array | Float32Array
type Gemm = (c: Buffer, cOff: number, ldc: number, a: Buffer, aOff: number, lda: number,
  b: Buffer, bOff: number, ldb: number, m: number, n: number, k: number, accumulate: boolean) => void
type Kind = 'NT' | 'NN' | 'TN'
type Element = 'f64' | 'f32'

interface Shape { kind: Kind, m: number, n: number, k: number, use: string }

const SHAPES: Shape[] = [
  { kind: 'NT', m: 32, n: 512, k: 128, use: 'LSTM step  h·W_hh^T (B=32,H=128)' },
  { kind: 'NT', m: 16, n: 192, k: 64, use: 'GRU step   h·W_hh^T (B=16,H=64)' },
  { kind: 'NT', m: 1, n: 512, k: 128, use: 'inference step, m=1 (matrix·vector)' },
  { kind: 'NT', m: 1024, n: 512, k: 128, use: 'input projection, all T·B rows' },
  { kind: 'NT', m: 1024, n: 76, k: 128, use: 'linear head forward (V=76)' },
  { kind: 'NT', m: 32, n: 1024, k: 256, use: 'batched generation step, LSTM-256, 32 rows' },
  { kind: 'NT', m: 1, n: 1024, k: 256, use: 'generation step, LSTM-256, one row' },
  { kind: 'NT', m: 64, n: 2048, k: 512, use: 'LSTM-512 step, B=64' },
  { kind: 'NT', m: 64, n: 4096, k: 1024, use: 'LSTM-1024 step, B=64 (W_hh 16 MiB f32)' },
  { kind: 'NT', m: 1024, n: 4096, k: 1024, use: 'LSTM-1024 input projection, 1024 rows' },
  { kind: 'NN', m: 32, n: 128, k: 512, use: 'LSTM dH = dGates·W_hh' },
  { kind: 'NN', m: 16, n: 64, k: 192, use: 'GRU dH = dGates·W_hh' },
  { kind: 'NN', m: 1, n: 128, k: 512, use: 'm=1 (vector·matrix)' },
  { kind: 'NN', m: 1024, n: 128, k: 76, use: 'linear head dX = dY·W' },
  { kind: 'TN', m: 512, n: 128, k: 1024, use: 'LSTM dW_hh += dGates^T·H (N=1024)' },
  { kind: 'TN', m: 192, n: 64, k: 800, use: 'GRU dW_hh += dGates^T·H (N=800)' },
  { kind: 'TN', m: 76, n: 128, k: 1024, use: 'linear head dW += dY^T·X' },
  { kind: 'TN', m: 4096, n: 1024, k: 1024, use: 'LSTM-1024 dW_hh += dGates^T·H (N=1024)' },
]

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`)
  const value = at >= 0 ? Number(process.argv[at + 1]) : fallback
  if (!(value > 0)) throw new Error(`--${name} needs a positive number`)
  return value
}
const RUNS = option('runs', 7)
const RUN_MS = option('ms', 40)

/** A fresh naive kernel per call: new Function gives it its own type feedback. */
function naiveKernel(kind: Kind): Gemm {
  const aAt = kind === 'TN' ? 'a[aOff + p * lda + i]' : 'a[aOff + i * lda + p]'
  const bAt = kind === 'NT' ? 'b[bOff + j * ldb + p]' : 'b[bOff + p * ldb + j]'
  const body = `
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
      let s = 0
      for (let p = 0; p < k; p++) s += ${aAt} * ${bAt}
      const at = cOff + i * ldc + j
      c[at] = accumulate ? c[at] + s : s
    }`
  return new Function('c', 'cOff', 'ldc', 'a', 'aOff', 'lda', 'b', 'bOff', 'ldb', 'm', 'n', 'k', 'accumulate', body) as Gemm
}

/** One instance of the engine's kernels per element type (a distinct module URL each). */
async function engineKernels(element: Element): Promise<Record<Kind, Gemm>> {
  const url = new URL('../src/engine/kernels/gemm.js', import.meta.url)
  const mod = await import(`${url.href}?${element}`) as typeof import('../src/engine/kernels/gemm.js')
  // The kernels are declared for Float64Array; the f32 instance is fed Float32Array on purpose.
  return { NT: mod.gemmNT as Gemm, NN: mod.gemmNN as Gemm, TN: mod.gemmTN as Gemm }
}

interface Operands { a: Buffer, b: Buffer, c: Buffer, lda: number, ldb: number, ldc: number }

const WASM = { f64: new WasmBackend('float64'), f32: new WasmBackend('float32') }
const wasmKernels = (element: Element): Record<Kind, Gemm> => {
  const be = WASM[element]
  return { NT: be.gemmNT as Gemm, NN: be.gemmNN as Gemm, TN: be.gemmTN as Gemm }
}

function operands(element: Element, { kind, m, n, k }: Shape, wasm = false): Operands {
  const make = (length: number): Buffer => {
    const x = wasm ? WASM[element].floats(length) : element === 'f64' ? new Float64Array(length) : new Float32Array(length)
    for (let i = 0; i < length; i++) x[i] = Math.random() - 0.5
    return x
  }
  const lda = kind === 'TN' ? m : k
  const ldb = kind === 'NT' ? k : n
  return { a: make(m * k), b: make(n * k), c: make(m * n), lda, ldb, ldc: n }
}

function call(gemm: Gemm, s: Shape, o: Operands, accumulate: boolean): void {
  gemm(o.c, 0, o.ldc, o.a, 0, o.lda, o.b, 0, o.ldb, s.m, s.n, s.k, accumulate)
}

/** Exercise every code path (full blocks, row and column tails, m = 1) before timing. */
function warmUp(gemm: Gemm, kind: Kind, element: Element, wasm = false): void {
  const ragged: Shape[] = [5, 7, 1, 13].map((m) => ({ kind, m, n: m + 6, k: 2 * m + 3, use: '' }))
  for (const shape of [...ragged, ...SHAPES.filter((s) => s.kind === kind && (wasm || !huge(s)))]) {
    const o = operands(element, shape, wasm)
    const calls = Math.max(3, Math.min(200, Math.round(2e7 / (2 * shape.m * shape.n * shape.k))))
    for (let r = 0; r < calls; r++) call(gemm, shape, o, r % 2 === 1)
  }
}

/** The 1024-wide shapes take the naive and js kernels minutes each: only the wasm kernels time them. */
function huge(s: Shape): boolean {
  return s.m * s.n * s.k > 1e8
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** Median GFLOP/s over RUNS timed runs; each run repeats the call enough to last ~RUN_MS. */
function gflops(gemm: Gemm, shape: Shape, element: Element, wasm = false): number {
  const o = operands(element, shape, wasm)
  const flops = 2 * shape.m * shape.n * shape.k
  let reps = 1
  for (;;) {
    const t0 = performance.now()
    for (let r = 0; r < reps; r++) call(gemm, shape, o, true)
    const ms = performance.now() - t0
    if (ms >= RUN_MS / 4) {
      reps = Math.max(1, Math.round(reps * RUN_MS / ms))
      break
    }
    reps *= 2
  }
  const rates: number[] = []
  for (let run = 0; run < RUNS; run++) {
    // CPU time of this process: other processes' load stretches wall time, not this.
    const t0 = process.cpuUsage()
    for (let r = 0; r < reps; r++) call(gemm, shape, o, true)
    const used = process.cpuUsage(t0)
    rates.push(flops * reps / ((used.user + used.system) * 1e3))
  }
  return median(rates)
}

const wallStart = performance.now()
const cpuStart = process.cpuUsage()
const elements: Element[] = ['f64', 'f32']
const kinds: Kind[] = ['NT', 'NN', 'TN']
const naive = new Map<string, Gemm>()
const engine = new Map<string, Gemm>()
const wasm = new Map<string, Gemm>()
for (const element of elements) {
  const kernels = await engineKernels(element)
  const simd = wasmKernels(element)
  for (const kind of kinds) {
    naive.set(element + kind, naiveKernel(kind))
    engine.set(element + kind, kernels[kind])
    wasm.set(element + kind, simd[kind])
  }
}
for (const element of elements) {
  for (const kind of kinds) {
    warmUp(naive.get(element + kind)!, kind, element)
    warmUp(engine.get(element + kind)!, kind, element)
    warmUp(wasm.get(element + kind)!, kind, element, true)
  }
}

console.log(`# GEMM GFLOP/s, median of ${RUNS} runs of ~${RUN_MS} ms; node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}`)
const header = ['kernel', 'm×n×k', 'naive f64', 'js f64', 'wasm f64', 'naive f32', 'js f32', 'wasm f32', 'used for']
const widths = [7, 13, 10, 8, 9, 10, 8, 9, 0]
const row = (cells: string[]): string => cells.map((cell, i) => i < 2 || i === 8 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])).join('  ')
console.log(row(header))
for (const shape of SHAPES) {
  const rate = (map: Map<string, Gemm>, element: Element): number => gflops(map.get(element + shape.kind)!, shape, element, map === wasm)
  const cells = elements.flatMap((element) => huge(shape)
    ? ['—', '—', rate(wasm, element).toFixed(2)]
    : [rate(naive, element), rate(engine, element), rate(wasm, element)].map((r) => r.toFixed(2)))
  console.log(row([`gemm${shape.kind}`, `${shape.m}×${shape.n}×${shape.k}`, ...cells, shape.use]))
}

// On a shared machine other processes steal the core; say so rather than print quietly low figures.
const cpu = process.cpuUsage(cpuStart)
const busy = (cpu.user + cpu.system) / 1000 / (performance.now() - wallStart)
if (busy < 0.9) console.log(`# warning: this process got only ${(100 * busy).toFixed(0)}% of a core; other load skewed the figures`)
