import asc from 'assemblyscript/asc'
import { median } from './timing.js'

/**
 * The arithmetic ceiling of 128-bit WebAssembly SIMD here: GFLOP/s of an unrolled loop of
 * independent multiplies and adds on 12 vector registers (no loads, no dependencies a core must wait
 * for), compiled from AssemblyScript like the kernels and run by this V8. No matrix kernel
 * can beat it; the GEN workload divides by it to bound what batching can gain.
 * WebAssembly SIMD has no fused multiply-add (relaxed SIMD is not enabled in this Node), so a
 * multiply and an add are two instructions, as in the kernels.
 */
const ACCUMULATORS = 6
/** Copies of the body per loop iteration: fewer leave the loop's own instructions in the figure. */
const UNROLL = 4

const SOURCE = (v: 'f32x4' | 'f64x2', scalar: 'f32' | 'f64') => {
  const regs = Array.from({ length: ACCUMULATORS }, (_, i) => i)
  const body = regs.map((i) => `a${i} = ${v}.mul(a${i}, mm); b${i} = ${v}.add(b${i}, cc)`).join('\n')
  const sum = regs.map((i) => `${v}.add(a${i}, b${i})`).reduce((x, y) => `${v}.add(${x}, ${y})`)
  return `
export function peak(n: i32, m: ${scalar}, c: ${scalar}): ${scalar} {
  const mm = ${v}.splat(m)
  const cc = ${v}.splat(c)
  ${regs.map((i) => `let a${i} = ${v}.splat(1); let b${i} = a${i}`).join('\n')}
  for (let i = 0; i < n; i++) {
    ${Array.from({ length: UNROLL }, () => body).join('\n')}
  }
  return ${v}.extract_lane(${sum}, 0)
}
`
}

/** Vector operations per loop iteration, each on LANES values. */
const OPS_PER_ITERATION = 2 * ACCUMULATORS * UNROLL

export interface SimdPeak {
  dtype: 'float32' | 'float64'
  gflops: number
}

/** Median of 5 timed runs of `iterations` loop iterations (each well over 10 ms), after a warm-up. */
export async function measureSimdPeak(dtype: 'float32' | 'float64', iterations = 5_000_000): Promise<SimdPeak> {
  const f32 = dtype === 'float32'
  let binary: Uint8Array | null = null
  const { error, stderr } = await asc.main(['peak.ts', '-O3', '--runtime', 'stub', '--noAssert', '--enable', 'simd', '--outFile', 'peak.wasm'], {
    readFile: (name: string) => (name === 'peak.ts' ? SOURCE(f32 ? 'f32x4' : 'f64x2', f32 ? 'f32' : 'f64') : null),
    writeFile(name: string, contents: Uint8Array | string) {
      if (name.endsWith('.wasm')) binary = contents as Uint8Array
    },
    listFiles: () => [],
  })
  if (error || !binary) throw new Error(`asc failed: ${error?.message ?? 'no output'}\n${stderr.toString()}`)
  const instance = new WebAssembly.Instance(new WebAssembly.Module(binary), {})
  const peak = instance.exports.peak as (n: number, m: number, c: number) => number
  const lanes = f32 ? 4 : 2
  // V8 runs new WebAssembly on its baseline compiler (Liftoff, ~10x slower here) and swaps in
  // optimised code, compiled in the background, at a later call: warm up with many calls.
  for (let call = 0; call < 200; call++) peak(100_000, 0.9999999, 1e-7)
  await new Promise((resolve) => setTimeout(resolve, 100))
  for (let call = 0; call < 20; call++) peak(100_000, 0.9999999, 1e-7)
  const rates: number[] = []
  for (let run = 0; run < 5; run++) {
    const started = process.cpuUsage()
    peak(iterations, 0.9999999, 1e-7)
    const used = process.cpuUsage(started)
    rates.push((iterations * OPS_PER_ITERATION * lanes) / ((used.user + used.system) * 1e3))
  }
  return { dtype, gflops: Math.round(median(rates) * 10) / 10 }
}
