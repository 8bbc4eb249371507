import { SequenceModel } from '../../engine/model.js'
import { Rng } from '../../engine/rng.js'
import { BatchPredictor } from '../../engine/tasks/batch-predictor.js'
import type { GenerateOptions } from '../../engine/tasks/predictor.js'
import { loadCorpus, type Corpus } from '../corpus.js'
import { benchBackend, engineChoice, engineFields, type EngineChoice } from '../engine-choice.js'
import { median } from '../timing.js'

/** The service bench's text model: one-hot -> LSTM-256 -> Linear on every step. */
export const GEN_HIDDEN = 256
export const GEN_LENGTH = 100
export const GEN_PROMPT = 20
export const GEN_BATCHES = [8, 16, 32] as const

export interface GenOptions extends Partial<EngineChoice> {
  corpus?: Corpus
  batches?: readonly number[]
  /** Timed repetitions per batch size and mode; the median is reported (default 3). */
  runs?: number
  length?: number
  /** The SIMD ceiling (simd-peak.ts) in GFLOP/s: with it, every row says how far batching could go. */
  simdPeakGflops?: number
}


export interface GenRow {
  B: number
  sampling: 'greedy' | 'temperature 1'
  /** Rows (continuations of `length` characters) per CPU second: one batched call of B prompts. */
  batched_rows_per_s: number
  /** The same B prompts one at a time (B single-row calls). */
  sequential_rows_per_s: number
  ratio: number
  /** The batched call continued every prompt exactly as its own call did. */
  same_output: boolean
  /** Matrix-product GFLOP/s of either mode (flopsPerRow: the products only). */
  batched_gflops: number
  sequential_gflops: number
  /**
   * The most batching could gain even if the batched call ran entirely at the SIMD ceiling:
   * simd_peak_gflops / sequential_gflops (only with simdPeakGflops).
   */
  ratio_bound?: number
}

export interface GenResult {
  workload: 'GEN'
  name: 'batched-generation'
  precision: EngineChoice['dtype']
  kernels: EngineChoice['kernels']
  hidden: number
  length: number
  flops_per_row: number
  simd_peak_gflops?: number
  rows: GenRow[]
}

/**
 * Multiply-add FLOPs of one row: every prompt step and every generated step but the last
 * runs the LSTM's recurrent product (4H x H) and the output layer (V x H); the one-hot input
 * is a gather (no products). Sampling, activations and the rest are not counted, so
 * figures derived from it flatter the kernels, never the argument.
 */
export function genFlopsPerRow(H: number, V: number, prompt: number, length: number): number {
  return (prompt + length - 1) * (2 * 4 * H * H + 2 * V * H)
}

/**
 * Median CPU milliseconds of this process per call (after one warm-up call): on the shared
 * machine other processes' load stretches wall time by 2-10x but not the CPU time a call takes.
 */
function cpuMs(fn: () => void, runs: number): number {
  fn()
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const start = process.cpuUsage()
    fn()
    const used = process.cpuUsage(start)
    times.push((used.user + used.system) / 1000)
  }
  return median(times)
}

/**
 * Engine-level batched generation (issue 9's micro-batching target): `length` characters for
 * B prompts in one BatchPredictor.generate call versus B calls of one prompt each, on an
 * untrained LSTM-256 over the corpus vocabulary, greedy and sampled, timed in CPU time (cpuMs).
 * Both give the same characters per row (test/serving/batch-exact.test.ts); only the time differs.
 */
export function runGen(options: GenOptions = {}): GenResult {
  const choice = engineChoice(options)
  const corpus = options.corpus ?? loadCorpus()
  const V = corpus.vocabulary.length
  const length = options.length ?? GEN_LENGTH
  const runs = options.runs ?? 3
  const config = {
    mode: 'lstm' as const, inputSize: V, oneHot: true, hiddenSize: GEN_HIDDEN, numLayers: 1,
    bidirectional: false, projSize: 0, dropout: 0, outputSize: V, head: 'every_step' as const,
  }
  const model = new SequenceModel(config, benchBackend(choice))
  model.init(new Rng(7))
  const predictor = new BatchPredictor({
    meta: { kind: 'text', vocab: corpus.vocabulary, seq_len: 32 }, model: config, params: model.params.data, dtype: choice.dtype,
  }, choice.kernels)
  const rng = new Rng(11)
  // V8 swaps optimised code in for its baseline code over the first calls: warm both modes
  // up before the first timed row, or that row's one-row figure comes out 20-40% low.
  const warmUp = Array.from({ length: 8 }, (_, b) => corpus.text.slice(b * 50, b * 50 + GEN_PROMPT))
  for (let round = 0; round < 3; round++) {
    for (const temperature of [0, 1]) {
      const opts = warmUp.map((_, b) => ({ length, temperature, topK: 0, seed: b }))
      predictor.generate(warmUp, opts)
      warmUp.forEach((prompt, b) => predictor.generate([prompt], [opts[b]]))
    }
  }
  const rows: GenRow[] = []
  const flops = genFlopsPerRow(GEN_HIDDEN, V, GEN_PROMPT, length)
  const gflops = (rowsPerS: number) => Math.round((rowsPerS * flops) / 1e8) / 10
  const peak = options.simdPeakGflops
  for (const B of options.batches ?? GEN_BATCHES) {
    const prompts = Array.from({ length: B }, () => {
      const at = Math.floor(rng.next() * (corpus.text.length - GEN_PROMPT))
      return corpus.text.slice(at, at + GEN_PROMPT)
    })
    for (const temperature of [0, 1]) {
      const opts: GenerateOptions[] = prompts.map((_, b) => ({ length, temperature, topK: 0, seed: b }))
      let together: string[] = []
      let alone: string[] = []
      const batched = cpuMs(() => { together = predictor.generate(prompts, opts) }, runs)
      const sequential = cpuMs(() => { alone = prompts.map((prompt, b) => predictor.generate([prompt], [opts[b]])[0]) }, runs)
      const batchedRows = (B / batched) * 1000
      const sequentialRows = (B / sequential) * 1000
      rows.push({
        B, sampling: temperature === 0 ? 'greedy' : 'temperature 1',
        batched_rows_per_s: Math.round(batchedRows * 10) / 10,
        sequential_rows_per_s: Math.round(sequentialRows * 10) / 10,
        ratio: Math.round((sequential / batched) * 100) / 100,
        same_output: together.every((text, b) => text === alone[b]),
        batched_gflops: gflops(batchedRows),
        sequential_gflops: gflops(sequentialRows),
        ...(peak === undefined ? {} : { ratio_bound: Math.round((peak / ((sequentialRows * flops) / 1e9)) * 100) / 100 }),
      })
    }
  }
  return { workload: 'GEN', name: 'batched-generation', ...engineFields(choice), hidden: GEN_HIDDEN, length, flops_per_row: flops, ...(peak === undefined ? {} : { simd_peak_gflops: peak }), rows }
}
