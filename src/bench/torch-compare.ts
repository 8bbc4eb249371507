import { spawnSync } from 'node:child_process'
import os from 'node:os'
import { fileURLToPath } from 'node:url'

/** The PyTorch figures torch_bench.py prints (the ones compared here). */
export interface TorchFigures {
  W1_seed_200_epochs_s?: number
  W2_charlm_h128_tokens_per_s?: number
  W3_gru_ts_seq_per_s?: number
  W4_forward_1x32_median_ms?: number
  W4_generate_200_chars_ms?: number
}

const TORCH_BENCH = fileURLToPath(new URL('../../../shared/bench/torch_bench.py', import.meta.url))

/**
 * Runs ../shared/bench/torch_bench.py (override: $SEQSERVE_TORCH_BENCH) with one thread
 * (OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1) under $SEQSERVE_TORCH_PYTHON or /usr/bin/python3.
 * Throws with the set-up command when PyTorch is missing.
 */
export function runTorchBench(): TorchFigures {
  const script = process.env.SEQSERVE_TORCH_BENCH ?? TORCH_BENCH
  const python = process.env.SEQSERVE_TORCH_PYTHON ?? '/usr/bin/python3'
  const run = spawnSync(python, [script], {
    encoding: 'utf8',
    env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' },
    maxBuffer: 16 * 1024 * 1024,
  })
  if (run.status !== 0) {
    throw new Error(`${python} ${script} failed (${run.error?.message ?? `exit ${run.status}`}): ${run.stderr.trim().split('\n').at(-1) ?? ''}\n` +
      'install PyTorch with: apt-get install -y python3-torch libopenblas0-pthread')
  }
  const line = run.stdout.trim().split('\n').at(-1) ?? ''
  return JSON.parse(line) as TorchFigures
}

export interface OurFigures {
  W1?: { seconds_median: number; precision: string; kernels: string }
  W2?: { tokens_per_s: number; precision: string; kernels: string }
  W3?: { sequences_per_s: number; precision: string; kernels: string }
  W4?: { forward_ms_median: number; generate_200_ms: number; precision: string; kernels: string }
}

interface Row { workload: string; engine: string; ours: number; torch: number | undefined; higherIsBetter: boolean; digits: number }

/**
 * Markdown table of seqserve beside PyTorch, one ratio per row: seqserve / PyTorch for rates
 * (higher is better), PyTorch-relative time for latencies (seqserve time / PyTorch time, lower
 * is better), as issue 12 states its targets.
 */
export function comparisonTable(ours: OurFigures, torch: TorchFigures, loadBefore: number, tfjs?: { tokens_per_s: number; engine: string }): string {
  const rows: Row[] = []
  const eng = (x: { precision: string; kernels: string }) => `${x.kernels} ${x.precision}`
  if (ours.W1) rows.push({ workload: 'W1 seed task 200 epochs, s', engine: eng(ours.W1), ours: ours.W1.seconds_median, torch: torch.W1_seed_200_epochs_s, higherIsBetter: false, digits: 3 })
  if (ours.W2) rows.push({ workload: 'W2 LSTM-128 char LM, tokens/s', engine: eng(ours.W2), ours: ours.W2.tokens_per_s, torch: torch.W2_charlm_h128_tokens_per_s, higherIsBetter: true, digits: 0 })
  if (ours.W3) rows.push({ workload: 'W3 GRU-64 series, seq/s', engine: eng(ours.W3), ours: ours.W3.sequences_per_s, torch: torch.W3_gru_ts_seq_per_s, higherIsBetter: true, digits: 0 })
  if (ours.W4) {
    rows.push({ workload: 'W4 forward 1x32, ms', engine: eng(ours.W4), ours: ours.W4.forward_ms_median, torch: torch.W4_forward_1x32_median_ms, higherIsBetter: false, digits: 3 })
    rows.push({ workload: 'W4 greedy 200 chars, ms', engine: eng(ours.W4), ours: ours.W4.generate_200_ms, torch: torch.W4_generate_200_chars_ms, higherIsBetter: false, digits: 2 })
  }
  const fmt = (v: number | undefined, digits: number) => (v === undefined ? '—' : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }))
  const lines = [
    '| workload | kernels, precision | seqserve | PyTorch 1 thread | seqserve / PyTorch |',
    '|---|---|---|---|---|',
    ...rows.map((r) => {
      const ratio = r.torch ? r.ours / r.torch : undefined
      const note = ratio === undefined ? '' : r.higherIsBetter ? '' : ' (time)'
      return `| ${r.workload} | ${r.engine} | ${fmt(r.ours, r.digits)} | ${fmt(r.torch, r.digits)} | ${ratio === undefined ? '—' : ratio.toFixed(2)}${note} |`
    }),
  ]
  if (tfjs && ours.W2) {
    lines.push('', `W2 beside ${tfjs.engine}: ${fmt(ours.W2.tokens_per_s, 0)} / ${fmt(tfjs.tokens_per_s, 0)} tokens/s = ${(ours.W2.tokens_per_s / tfjs.tokens_per_s).toFixed(1)}x`)
  }
  const load = `load average (1 min) ${loadBefore.toFixed(2)} before, ${os.loadavg()[0].toFixed(2)} after, on ${os.cpus().length} cores`
  return `${lines.join('\n')}\n\n${load}`
}
