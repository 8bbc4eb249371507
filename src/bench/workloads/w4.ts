import type { Floats } from '../../engine/backend/types.js'
import type { ModelBatch, SequenceModel } from '../../engine/model.js'
import { argmaxRows } from '../../engine/train-step.js'
import { CharBatchStream } from '../char-batches.js'
import { loadCorpus, type Corpus } from '../corpus.js'
import { benchBackend, engineChoice, engineFields, type EngineChoice } from '../engine-choice.js'
import { median, msSince, now } from '../timing.js'
import { CHAR_LM_T, charLanguageModel } from './w2.js'

export interface W4Options extends Partial<EngineChoice> {
  forwardCalls?: number
  forwardWarmup?: number
  generateLength?: number
  generateWarmup?: number
  /** Separate 200-character generations timed; the median is reported (default 5). */
  generateRuns?: number
  initSeed?: number
  corpus?: Corpus
}

export interface W4Result {
  workload: 'W4'
  name: 'infer'
  precision: EngineChoice['dtype']
  kernels: EngineChoice['kernels']
  forward_ms_median: number
  /** Median total of `generate_runs` separate generations (one preempted run cannot move it). */
  generate_200_ms: number
  generate_200_runs_ms: number[]
  generate_step_ms_median: number
  forward_calls: number
  generate_length: number
  generate_runs: number
  /** The (untrained) model's greedy output, to show the state really is carried. */
  generated_prefix: string
}

/** (a) Median latency of one T=32, B=1 forward, logits copied out each call. */
function forwardLatency(model: SequenceModel, window: Int32Array, calls: number, warmup: number): number {
  const V = model.config.outputSize
  const batch: ModelBatch = {
    T: window.length, B: 1, input: { kind: 'ids', ids: window }, lengths: null, h0: null, c0: null, training: false, rng: null,
  }
  const readBack = new Float64Array(window.length * V)
  for (let i = 0; i < warmup; i++) readBack.set(model.forward(batch).subarray(0, readBack.length))
  const times = new Float64Array(calls)
  for (let i = 0; i < calls; i++) {
    const start = now()
    readBack.set(model.forward(batch).subarray(0, readBack.length))
    times[i] = msSince(start)
  }
  return median(times)
}

/**
 * Greedy decoder that feeds back each argmax as the next T=1, B=1 input and carries (h, c)
 * by copying the model's final state into its own initial-state buffers.
 */
class GreedyDecoder {
  private readonly ids = new Int32Array(1)
  private readonly h0: Floats
  private readonly c0: Floats | null
  private readonly best = new Int32Array(1)
  private readonly batch: ModelBatch

  constructor(private readonly model: SequenceModel) {
    const sizes = model.stateSizes
    // The carried state lives in the model's memory, in its precision: copied in and out as is.
    this.h0 = model.params.backend.floats(sizes.h)
    this.c0 = sizes.c > 0 ? model.params.backend.floats(sizes.c) : null
    this.batch = {
      T: 1, B: 1, input: { kind: 'ids', ids: this.ids }, lengths: null, h0: this.h0, c0: this.c0, training: false, rng: null,
    }
  }

  reset(startId: number): void {
    this.h0.fill(0)
    this.c0?.fill(0)
    this.ids[0] = startId
  }

  /** Runs one step; returns the chosen id, which is also the next input. */
  step(): number {
    const logits = this.model.forward(this.batch)
    argmaxRows(this.best, logits, 1, this.model.config.outputSize)
    this.h0.set(this.model.rnn.hN.subarray(0, this.h0.length))
    if (this.c0) this.c0.set(this.model.rnn.cN.subarray(0, this.c0.length))
    this.ids[0] = this.best[0]
    return this.best[0]
  }
}

export function runW4(options: W4Options = {}): W4Result {
  const corpus = options.corpus ?? loadCorpus()
  const forwardCalls = options.forwardCalls ?? 200
  const length = options.generateLength ?? 200
  const choice = engineChoice(options)
  const model = charLanguageModel(corpus.vocabulary.length, options.initSeed ?? 0, benchBackend(choice))
  const window = new CharBatchStream(corpus.ids, CHAR_LM_T, 1, 99).next().inputs

  const forwardMs = forwardLatency(model, window, forwardCalls, options.forwardWarmup ?? 5)

  // (b) Generation starts from the window's first character and a zero state, `runs` times.
  const decoder = new GreedyDecoder(model)
  decoder.reset(window[0])
  for (let i = 0; i < (options.generateWarmup ?? 20); i++) decoder.step()
  const runs = options.generateRuns ?? 5
  const generated = new Int32Array(length)
  const stepMs = new Float64Array(length * runs)
  const totals: number[] = []
  for (let run = 0; run < runs; run++) {
    decoder.reset(window[0])
    const start = now()
    for (let i = 0; i < length; i++) {
      const stepStart = now()
      generated[i] = decoder.step()
      stepMs[run * length + i] = msSince(stepStart)
    }
    totals.push(msSince(start))
  }

  return {
    workload: 'W4',
    name: 'infer',
    ...engineFields(choice),
    forward_ms_median: forwardMs,
    generate_200_ms: median(totals),
    generate_200_runs_ms: totals,
    generate_step_ms_median: median(stepMs),
    forward_calls: forwardCalls,
    generate_length: length,
    generate_runs: runs,
    generated_prefix: Array.from(generated.subarray(0, 40), (id) => corpus.vocabulary[id]).join(''),
  }
}
