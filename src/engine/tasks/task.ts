import type { SequenceModelConfig } from '../model.js'
import type { RecurrentMode } from '../recurrent/config.js'
import { Rng } from '../rng.js'
import { type BatchPlan, SampleBatchPlan, StreamBatchPlan } from './batch-plan.js'
import { type Batcher, IdSequenceBatcher, WindowBatcher } from './batching.js'
import type { ClassesData, DataSpec, JobSpec, ModelSpec, PairsData, SeriesData, TextData, TrainingSpec } from './spec.js'
import { Vocabulary } from './vocabulary.js'

/** What prediction needs besides the weights; stored in every checkpoint. */
export type TaskMeta =
  | { kind: 'pairs'; vocab: string[] }
  | { kind: 'text'; vocab: string[]; seq_len: number }
  | { kind: 'series'; features: number; multivariate: boolean; window: number; horizon: number; mean: number[]; std: number[] }
  | { kind: 'classes'; vocab: string[]; labels: string[] }

export interface PreparedTask {
  meta: TaskMeta
  model: SequenceModelConfig
  train: BatchPlan
  /** Held-out data (training.validation_split), or null. */
  validation: BatchPlan | null
}

/** The data cannot train a model; the message says what to change. */
export class DataError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'DataError'
  }
}

/** The data does not fit the model training.init_from starts from (its task, vocabulary, labels or features). */
export class BaseModelMismatchError extends DataError {
  constructor(message: string) {
    super(message)
    this.name = 'BaseModelMismatchError'
  }
}

export function recurrentMode(model: ModelSpec): RecurrentMode {
  if (model.type === 'rnn') return model.nonlinearity === 'relu' ? 'rnn_relu' : 'rnn_tanh'
  return model.type
}

export function modelConfigFor(meta: TaskMeta, model: ModelSpec): SequenceModelConfig {
  const base = {
    mode: recurrentMode(model),
    hiddenSize: model.hidden_size,
    numLayers: model.num_layers,
    bidirectional: model.bidirectional,
    projSize: model.type === 'lstm' ? model.proj_size : 0,
    dropout: model.num_layers > 1 ? model.dropout : 0,
  }
  switch (meta.kind) {
    case 'pairs':
    case 'text':
      return { ...base, inputSize: meta.vocab.length, oneHot: true, outputSize: meta.vocab.length, head: 'every_step' }
    case 'classes':
      return { ...base, inputSize: meta.vocab.length, oneHot: true, outputSize: meta.labels.length, head: 'last_step' }
    case 'series':
      return { ...base, inputSize: meta.features, oneHot: false, outputSize: meta.features, head: 'last_step' }
  }
}

/**
 * Checks the data and turns it into samples, a batcher and the metadata prediction needs.
 * `base` (fine-tuning, training.init_from) is the task metadata of the model training starts
 * from: its vocabulary, labels and series normalisation are kept (the weights were trained
 * on them), and the data must fit them.
 */
export function prepareTask(spec: JobSpec, base?: TaskMeta): PreparedTask {
  const data = spec.data
  if (base && base.kind !== data.type) throw new BaseModelMismatchError(`data.type is ${JSON.stringify(data.type)} but the model of training.init_from is a ${base.kind} model`)
  switch (data.type) {
    case 'pairs': return preparePairs(data, spec.model, spec.training, base as Extract<TaskMeta, { kind: 'pairs' }> | undefined)
    case 'text': return prepareText(data, spec.model, spec.training, base as Extract<TaskMeta, { kind: 'text' }> | undefined)
    case 'series': return prepareSeries(data, spec.model, spec.training, base as Extract<TaskMeta, { kind: 'series' }> | undefined)
    case 'classes': return prepareClasses(data, spec.model, spec.training, base as Extract<TaskMeta, { kind: 'classes' }> | undefined)
    default: throw new DataError(`unknown data.type ${JSON.stringify((data as { type: unknown }).type)}`)
  }
}

/** The data's vocabulary, or the base model's when fine-tuning (every character must be in it). */
function vocabularyFor(texts: string[], field: string, base: { vocab: string[] } | undefined): Vocabulary {
  if (!base) return Vocabulary.fromTexts(texts)
  const vocab = new Vocabulary(base.vocab)
  const missing = new Set<string>()
  for (const text of texts) for (const c of vocab.unknown(text)) missing.add(c)
  if (missing.size > 0) {
    throw new BaseModelMismatchError(`${field} use characters the model of training.init_from has no input for: ${[...missing].slice(0, 20).map((c) => JSON.stringify(c)).join(', ')}${missing.size > 20 ? ` and ${missing.size - 20} more` : ''}; its vocabulary (card vocabulary.tokens) is fixed by its weights`)
  }
  return vocab
}

/** Independent samples: a seeded split, then shuffled batches. */
function finish(meta: TaskMeta, model: ModelSpec, training: TrainingSpec, sampleCount: number, batcher: Batcher): PreparedTask {
  const split = splitIndices(sampleCount, training.validation_split, new Rng(training.seed).derive('validation'))
  return {
    meta,
    model: modelConfigFor(meta, model),
    train: new SampleBatchPlan(batcher, split.train, training.batch_size),
    validation: split.validation.length > 0 ? new SampleBatchPlan(batcher, split.validation, training.batch_size) : null,
  }
}

/** Deterministic split: a seeded permutation, the last `fraction` held out (at least one when fraction > 0 and there are 2+ samples). */
export function splitIndices(count: number, fraction: number, rng: Rng): { train: Int32Array; validation: Int32Array } {
  const all = Int32Array.from({ length: count }, (_, i) => i)
  if (fraction <= 0 || count < 2) return { train: all, validation: new Int32Array(0) }
  rng.shuffle(all)
  const held = Math.min(count - 1, Math.max(1, Math.floor(count * fraction)))
  return { train: all.slice(0, count - held).sort(), validation: all.slice(count - held).sort() }
}

function preparePairs(data: PairsData, model: ModelSpec, training: TrainingSpec, base?: { vocab: string[] }): PreparedTask {
  if (data.pairs.length === 0) throw new DataError('data.pairs is empty: give at least one {input, target} pair')
  data.pairs.forEach((p, i) => {
    const inLen = [...p.input].length
    const outLen = [...p.target].length
    if (inLen === 0) throw new DataError(`data.pairs[${i}].input is empty`)
    if (inLen !== outLen) {
      throw new DataError(`data.pairs[${i}]: input has ${inLen} characters but target has ${outLen}; pairs map each input character to one target character, so both must have the same length`)
    }
  })
  const vocab = vocabularyFor(data.pairs.flatMap((p) => [p.input, p.target]), 'data.pairs', base)
  const inputs = data.pairs.map((p) => vocab.encode(p.input))
  const targets = data.pairs.map((p) => vocab.encode(p.target))
  return finish({ kind: 'pairs', vocab: [...vocab.chars] }, model, training, inputs.length, new IdSequenceBatcher(inputs, targets, null))
}

function prepareText(data: TextData, model: ModelSpec, training: TrainingSpec, base?: { vocab: string[] }): PreparedTask {
  const vocab = vocabularyFor([data.text], 'data.text', base)
  const ids = vocab.encode(data.text)
  const T = data.seq_len
  // The tail of the text is held out for validation, so both parts stay contiguous streams.
  const held = training.validation_split > 0 ? Math.floor(ids.length * training.validation_split) : 0
  const trainIds = ids.subarray(0, ids.length - held)
  if (trainIds.length < T + 1) {
    throw new DataError(`data.text has ${trainIds.length} training characters; it needs at least seq_len + 1 = ${T + 1} (lower data.seq_len or training.validation_split, or give more text)`)
  }
  if (held > 0 && held < 2) throw new DataError('training.validation_split holds out less than 2 characters of data.text; raise it or set it to 0')
  const meta: TaskMeta = { kind: 'text', vocab: [...vocab.chars], seq_len: T }
  return {
    meta,
    model: modelConfigFor(meta, model),
    train: new StreamBatchPlan(trainIds, training.batch_size, T),
    validation: held > 0 ? new StreamBatchPlan(ids.subarray(ids.length - held), training.batch_size, T) : null,
  }
}

function prepareSeries(data: SeriesData, model: ModelSpec, training: TrainingSpec, base?: { features: number; mean: number[]; std: number[] }): PreparedTask {
  const rows = data.series
  const multivariate = rows.length > 0 && Array.isArray(rows[0])
  const F = multivariate ? (rows[0] as number[]).length : 1
  if (F === 0) throw new DataError('data.series rows must have at least one value')
  const N = rows.length
  const values = new Float64Array(N * F)
  rows.forEach((row, i) => {
    const r = multivariate ? row : [row]
    if (!Array.isArray(r) || r.length !== F) throw new DataError(`data.series[${i}] must be ${multivariate ? `an array of ${F} numbers like data.series[0]` : 'a number'}`)
    r.forEach((v, f) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new DataError(`data.series[${i}]${multivariate ? `[${f}]` : ''} is not a finite number`)
      values[i * F + f] = v
    })
  })
  const samples = N - data.window
  if (samples < 1) {
    throw new DataError(`data.series has ${N} points; it needs at least window + 1 = ${data.window + 1} (lower data.window or give more points)`)
  }
  if (base && base.features !== F) throw new BaseModelMismatchError(`data.series has ${F} feature${F === 1 ? '' : 's'} per row but the model of training.init_from reads ${base.features}`)
  // Fine-tuning keeps the normalisation the weights were trained with.
  const { mean, std } = base ? standardizeWith(values, N, F, base.mean, base.std) : standardize(values, N, F)
  const meta: TaskMeta = { kind: 'series', features: F, multivariate, window: data.window, horizon: data.horizon, mean, std }
  return finish(meta, model, training, samples, new WindowBatcher(values, F, data.window))
}

/**
 * z-scores every feature in place so the network sees unit-scale inputs (prediction undoes
 * it). Values are first divided by the feature's largest magnitude, so sums and squares stay
 * finite for any finite input (even near 1e308).
 */
function standardize(values: Float64Array, N: number, F: number): { mean: number[]; std: number[] } {
  const mean: number[] = []
  const std: number[] = []
  for (let f = 0; f < F; f++) {
    let scale = 0
    for (let i = 0; i < N; i++) scale = Math.max(scale, Math.abs(values[i * F + f]))
    if (scale === 0) scale = 1
    let m = 0
    for (let i = 0; i < N; i++) m += values[i * F + f] / scale / N
    let variance = 0
    for (let i = 0; i < N; i++) variance += (values[i * F + f] / scale - m) ** 2 / N
    const s = Math.sqrt(variance) || 1
    for (let i = 0; i < N; i++) values[i * F + f] = (values[i * F + f] / scale - m) / s
    mean.push(m * scale)
    std.push(s * scale)
  }
  return { mean, std }
}

/** z-scores every feature in place with a given mean and (population) std. */
function standardizeWith(values: Float64Array, N: number, F: number, mean: number[], std: number[]): { mean: number[]; std: number[] } {
  for (let i = 0; i < N; i++) for (let f = 0; f < F; f++) values[i * F + f] = (values[i * F + f] - mean[f]) / std[f]
  return { mean: [...mean], std: [...std] }
}

function prepareClasses(data: ClassesData, model: ModelSpec, training: TrainingSpec, base?: { vocab: string[]; labels: string[] }): PreparedTask {
  if (data.examples.length === 0) throw new DataError('data.examples is empty: give at least two examples with different labels')
  data.examples.forEach((e, i) => {
    if (e.input.length === 0) throw new DataError(`data.examples[${i}].input is empty`)
  })
  const found = [...new Set(data.examples.map((e) => e.label))].sort()
  if (!base && found.length < 2) throw new DataError(`data.examples have only the label ${JSON.stringify(found[0])}; classification needs at least two labels`)
  const unknownLabels = base ? found.filter((l) => !base.labels.includes(l)) : []
  if (unknownLabels.length > 0) {
    throw new BaseModelMismatchError(`data.examples have labels the model of training.init_from does not predict: ${unknownLabels.slice(0, 20).map((l) => JSON.stringify(l)).join(', ')}; its labels (card labels.names) are ${base!.labels.map((l) => JSON.stringify(l)).join(', ')}`)
  }
  const labels = base ? base.labels : found
  const labelIds = new Map(labels.map((l, i) => [l, i]))
  const vocab = vocabularyFor(data.examples.map((e) => e.input), 'data.examples', base)
  const inputs = data.examples.map((e) => vocab.encode(e.input))
  const y = Int32Array.from(data.examples, (e) => labelIds.get(e.label)!)
  return finish({ kind: 'classes', vocab: [...vocab.chars], labels: [...labels] }, model, training, inputs.length, new IdSequenceBatcher(inputs, null, y))
}

/** A short description of the dataset for job listings (never the data itself). */
export function summarizeData(data: DataSpec): Record<string, unknown> {
  switch (data.type) {
    case 'pairs': return { type: 'pairs', pairs: data.pairs.length, characters: data.pairs.reduce((n, p) => n + p.input.length, 0) }
    case 'text': return { type: 'text', characters: data.text.length, seq_len: data.seq_len }
    case 'series': {
      const features = data.series.length > 0 && Array.isArray(data.series[0]) ? (data.series[0] as number[]).length : 1
      return { type: 'series', points: data.series.length, features, window: data.window, horizon: data.horizon }
    }
    case 'classes': return { type: 'classes', examples: data.examples.length, labels: new Set(data.examples.map((e) => e.label)).size }
  }
}
