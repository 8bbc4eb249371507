/**
 * Complete (every default spelled out) job specs for the lifecycle tests, and the losses an
 * uninterrupted in-process run of the same spec produces: the reference a resumed job must match.
 */
import { DEFAULT_DTYPE } from '../../src/engine/backend/select.js'
import type { Dtype } from '../../src/engine/backend/types.js'
import type { Checkpoint } from '../../src/engine/tasks/checkpoint.js'
import type { JobSpec, ModelSpec, TrainingSpec } from '../../src/engine/tasks/spec.js'
import { Trainer } from '../../src/engine/tasks/trainer.js'

/** A POST /jobs body whose model, data and training are already complete, so the stored spec equals it. */
export interface JobRequest extends JobSpec {
  name: string
}

export const MODEL_DEFAULTS: ModelSpec = {
  type: 'rnn', hidden_size: 8, num_layers: 1, bidirectional: false, dropout: 0, nonlinearity: 'tanh', proj_size: 0,
}

export const TRAINING_DEFAULTS: TrainingSpec = {
  epochs: 100, optimizer: 'adam', learning_rate: 0.01, batch_size: 8, seed: 0, clip_grad_norm: null,
  validation_split: 0, checkpoint_every: 10, max_runtime_seconds: 3600, carry_hidden: false, shuffle: true,
  weight_decay: 0, momentum: 0,
}

const CORPUS = 'the quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs. '

/**
 * A next-character LSTM language model: a few milliseconds per epoch, so `epochs` sets how
 * long it trains. Dropout between two layers makes the RNG matter for the losses.
 */
export function lstmTextJob(name: string, options: { seed: number; epochs: number; checkpointEvery: number }): JobRequest {
  return {
    name,
    model: { ...MODEL_DEFAULTS, type: 'lstm', hidden_size: 16, num_layers: 2, dropout: 0.1 },
    data: { type: 'text', text: CORPUS.repeat(6), seq_len: 16 },
    training: { ...TRAINING_DEFAULTS, epochs: options.epochs, seed: options.seed, checkpoint_every: options.checkpointEvery, validation_split: 0.1 },
  }
}

/** The tutorial task on a GRU with shuffled mini-batches (the RNG picks every epoch's order). */
export function gruPairsJob(name: string, options: { seed: number; epochs: number; checkpointEvery: number }): JobRequest {
  const words = ['hello', 'world', 'seqse', 'rnnet', 'lstms', 'grucl', 'adamw', 'token']
  return {
    name,
    model: { ...MODEL_DEFAULTS, type: 'gru', hidden_size: 12 },
    data: { type: 'pairs', pairs: words.map((w) => ({ input: w, target: w.slice(1) + w[0] })) },
    training: { ...TRAINING_DEFAULTS, epochs: options.epochs, seed: options.seed, checkpoint_every: options.checkpointEvery, batch_size: 3, learning_rate: 0.05 },
  }
}

type Recurrent = ModelSpec['type']

/** A sine forecast (window 8, horizon 1) on an LSTM by default. */
export function seriesJob(name: string, options: { seed: number; epochs: number; checkpointEvery: number; type?: Recurrent }): JobRequest {
  const { seed } = options
  return {
    name,
    model: { ...MODEL_DEFAULTS, type: options.type ?? 'lstm', hidden_size: 8 },
    data: { type: 'series', series: Array.from({ length: 48 }, (_, i) => Math.sin(i / 4 + seed)), window: 8, horizon: 1 },
    training: { ...TRAINING_DEFAULTS, epochs: options.epochs, seed, checkpoint_every: options.checkpointEvery, batch_size: 8 },
  }
}

/** Two-class sentiment of six short phrases, on a GRU by default. */
export function classesJob(name: string, options: { seed: number; epochs: number; checkpointEvery: number; type?: Recurrent }): JobRequest {
  const examples = ['good fun', 'great day', 'nice one', 'bad day', 'sad end', 'poor fit'].map((input, i) => ({ input, label: i < 3 ? 'pos' : 'neg' }))
  return {
    name,
    model: { ...MODEL_DEFAULTS, type: options.type ?? 'gru', hidden_size: 8 },
    data: { type: 'classes', examples },
    training: { ...TRAINING_DEFAULTS, epochs: options.epochs, seed: options.seed, checkpoint_every: options.checkpointEvery, batch_size: 2 },
  }
}

/**
 * Diverges in its first epoch: a ReLU RNN (unbounded activations) under plain SGD at the
 * largest learning rate the schema allows blows the squared error up to Infinity/NaN.
 */
export function divergingSeriesJob(name: string): JobRequest {
  return {
    name,
    model: { ...MODEL_DEFAULTS, type: 'rnn', hidden_size: 16, nonlinearity: 'relu' },
    data: { type: 'series', series: Array.from({ length: 60 }, (_, i) => Math.sin(i / 3) * (i % 7)), window: 10, horizon: 1 },
    training: { ...TRAINING_DEFAULTS, epochs: 50, optimizer: 'sgd', learning_rate: 10, batch_size: 4 },
  }
}

export interface ReferenceLoss {
  epoch: number
  loss: number
  valLoss: number | null
}

/** An uninterrupted run of a spec: its losses, epoch by epoch, and the state it ends in. */
export interface ReferenceRun {
  losses: ReferenceLoss[]
  final: Checkpoint
}

/**
 * An uninterrupted run of `spec` on this thread. A spec naming no model.dtype runs in
 * `dtype`: by default the one the API fills in; a job stored by an older version (no dtype in
 * its spec) trains in float64.
 */
export function referenceRun(spec: JobSpec, dtype: Dtype = DEFAULT_DTYPE): ReferenceRun {
  const trainer = new Trainer({ model: { dtype, ...spec.model }, data: spec.data, training: spec.training })
  const losses: ReferenceLoss[] = []
  while (!trainer.done) {
    const result = trainer.runEpoch()
    if (result === null) throw new Error('an uninterrupted run cannot stop early')
    losses.push(result)
  }
  return { losses, final: trainer.checkpoint() }
}

/** Losses of an uninterrupted run of `spec` (see referenceRun). */
export function referenceLosses(spec: JobSpec, dtype: Dtype = DEFAULT_DTYPE): ReferenceLoss[] {
  return referenceRun(spec, dtype).losses
}
