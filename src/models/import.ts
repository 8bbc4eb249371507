import { createBackend } from '../engine/backend/select.js'
/**
 * Importing a model trained elsewhere (PyTorch): a card that defines the model (task,
 * architecture, vocabulary / labels / normalisation) plus a state dict, as JSON
 * `{card, state_dict}` or a safetensors file with the card in `__metadata__.card`.
 * Everything is validated before anything is stored; errors name the field or tensor.
 */
import { SequenceModel, type SequenceModelConfig } from '../engine/model.js'
import { validateRecurrentConfig } from '../engine/recurrent/config.js'
import { recurrentConfigOf } from '../engine/model.js'
import { type TaskMeta, modelConfigFor } from '../engine/tasks/task.js'
import type { ModelSpec } from '../engine/tasks/spec.js'
import { SafetensorsError, decodeSafetensors } from './formats/safetensors.js'

/** The import cannot be used; `where` names the offending card field or tensor. */
export class ImportError extends Error {
  constructor(message: string, readonly where: { field?: string; tensor?: string } = {}) {
    super(message)
    this.name = 'ImportError'
  }
}

export interface ImportLimits {
  maxHiddenSize: number
  maxNumLayers: number
}

/** Imported vocabularies and label sets are bounded, so the largest importable model has a size. */
export const MAX_IMPORT_TOKENS = 1024
/** A text card without `text.seq_len` (only fine-tuning uses it) gets the training default. */
const DEFAULT_TEXT_SEQ_LEN = 32
/** Series rows have at most this many features (as in training data). */
export const MAX_IMPORT_FEATURES = 64

export interface ImportedModel {
  meta: TaskMeta
  model: SequenceModelConfig
  params: Float64Array
  /** The card as given (kept with the version; unknown fields are preserved). */
  card: Record<string, unknown>
}

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

function field<T>(obj: Obj, key: string, path: string, check: (v: unknown) => v is T, expected: string, fallback?: T): T {
  const v = obj[key]
  if (v === undefined && fallback !== undefined) return fallback
  if (!check(v)) throw new ImportError(`card.${path}${key} must be ${expected}${v === undefined ? ' (it is missing)' : `, got ${JSON.stringify(v)}`}`, { field: `card.${path}${key}` })
  return v
}
const isInt = (min: number, max: number) => (v: unknown): v is number => Number.isInteger(v) && (v as number) >= min && (v as number) <= max
const isBool = (v: unknown): v is boolean => typeof v === 'boolean'
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)

function tokenList(obj: Obj, key: string, path: string, what: string): string[] {
  const list = field(obj, key, path, (v): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string'), `an array of strings (${what})`)
  if (list.length < 1 || list.length > MAX_IMPORT_TOKENS) throw new ImportError(`card.${path}${key} has ${list.length} entries; between 1 and ${MAX_IMPORT_TOKENS} are allowed`, { field: `card.${path}${key}` })
  const seen = new Set<string>()
  for (const t of list) {
    if (seen.has(t)) throw new ImportError(`card.${path}${key} lists ${JSON.stringify(t)} twice; entries must be unique`, { field: `card.${path}${key}` })
    seen.add(t)
  }
  return list
}

const CLASSES: Record<string, ModelSpec['type']> = { RNN: 'rnn', LSTM: 'lstm', GRU: 'gru' }

/** The model a card defines: task metadata and architecture, checked against the limits. */
export function modelFromCard(card: unknown, limits: ImportLimits): { meta: TaskMeta; model: SequenceModelConfig } {
  if (!isObj(card)) throw new ImportError('card must be an object (the document GET /jobs/{id}/model returns)', { field: 'card' })
  const task = field(card, 'task', '', (v): v is TaskMeta['kind'] => v === 'pairs' || v === 'text' || v === 'series' || v === 'classes', '"pairs", "text", "series" or "classes"')
  const arch = field(card, 'architecture', '', isObj, 'an object with rnn: {class, kwargs}')
  const rnn = field(arch, 'rnn', 'architecture.', isObj, 'an object {class, kwargs}')
  const cls = field(rnn, 'class', 'architecture.rnn.', (v): v is string => typeof v === 'string' && v.replace(/^(torch\.)?nn\./, '') in CLASSES, '"RNN", "LSTM" or "GRU"')
  const type = CLASSES[cls.replace(/^(torch\.)?nn\./, '')]
  const kw = field(rnn, 'kwargs', 'architecture.rnn.', isObj, 'the constructor arguments {input_size, hidden_size, ...}')
  const p = 'architecture.rnn.kwargs.'
  const known = new Set(['input_size', 'hidden_size', 'num_layers', 'bias', 'batch_first', 'dropout', 'bidirectional', 'nonlinearity', 'proj_size', 'device', 'dtype'])
  for (const k of Object.keys(kw)) if (!known.has(k)) throw new ImportError(`card.${p}${k} is not an argument of torch.nn.${cls.replace(/^(torch\.)?nn\./, '')}`, { field: `card.${p}${k}` })
  if (field(kw, 'bias', p, isBool, 'true', true) !== true) throw new ImportError(`card.${p}bias is false; seqserve models always have biases`, { field: `card.${p}bias` })
  const spec: ModelSpec = {
    type,
    hidden_size: field(kw, 'hidden_size', p, isInt(1, limits.maxHiddenSize), `an integer from 1 to ${limits.maxHiddenSize} (MAX_HIDDEN_SIZE)`),
    num_layers: field(kw, 'num_layers', p, isInt(1, limits.maxNumLayers), `an integer from 1 to ${limits.maxNumLayers} (MAX_NUM_LAYERS)`, 1),
    bidirectional: field(kw, 'bidirectional', p, isBool, 'true or false', false),
    dropout: field(kw, 'dropout', p, (v): v is number => isNum(v) && v >= 0 && v < 1, 'a number in [0, 1)', 0),
    nonlinearity: type === 'rnn' ? field(kw, 'nonlinearity', p, (v): v is 'tanh' | 'relu' => v === 'tanh' || v === 'relu', '"tanh" or "relu"', 'tanh') : 'tanh',
    proj_size: type === 'lstm' ? field(kw, 'proj_size', p, isInt(0, limits.maxHiddenSize), 'a non-negative integer', 0) : 0,
  }
  if (type !== 'rnn' && kw.nonlinearity !== undefined) throw new ImportError(`card.${p}nonlinearity is only an argument of torch.nn.RNN`, { field: `card.${p}nonlinearity` })
  if (type !== 'lstm' && kw.proj_size !== undefined && kw.proj_size !== 0) throw new ImportError(`card.${p}proj_size is only an argument of torch.nn.LSTM`, { field: `card.${p}proj_size` })

  let meta: TaskMeta
  if (task === 'series') {
    const s = field(card, 'series', '', isObj, 'an object {mean, std, window, horizon}')
    const mean = field(s, 'mean', 'series.', (v): v is number[] => Array.isArray(v) && v.length >= 1 && v.length <= MAX_IMPORT_FEATURES && v.every(isNum), `an array of 1 to ${MAX_IMPORT_FEATURES} numbers (one per feature)`)
    const std = field(s, 'std', 'series.', (v): v is number[] => Array.isArray(v) && v.every((x) => isNum(x) && x > 0), 'an array of positive numbers (population std per feature)')
    if (std.length !== mean.length) throw new ImportError(`card.series.std has ${std.length} values but card.series.mean has ${mean.length}; give one per feature`, { field: 'card.series.std' })
    meta = {
      kind: 'series', features: mean.length, multivariate: field(s, 'multivariate', 'series.', isBool, 'true or false', mean.length > 1),
      window: field(s, 'window', 'series.', isInt(1, 1 << 20), 'a positive integer (rows the model reads)'),
      horizon: field(s, 'horizon', 'series.', isInt(1, 1 << 20), 'a positive integer', 1), mean, std,
    }
    if (!meta.multivariate && meta.features !== 1) throw new ImportError('card.series.multivariate is false but there are several features', { field: 'card.series.multivariate' })
  } else {
    const vocab = field(card, 'vocabulary', '', isObj, 'an object {tokens: [characters in id order]}')
    const tokens = tokenList(vocab, 'tokens', 'vocabulary.', 'one character each, in id order')
    tokens.forEach((c, i) => {
      if ([...c].length !== 1) throw new ImportError(`card.vocabulary.tokens[${i}] is ${JSON.stringify(c)}; every token is exactly one character (code point)`, { field: `card.vocabulary.tokens[${i}]` })
    })
    if (task === 'classes') {
      const labels = field(card, 'labels', '', isObj, 'an object {names: [labels in logit order]}')
      meta = { kind: 'classes', vocab: tokens, labels: tokenList(labels, 'names', 'labels.', 'label names in logit order') }
    } else if (task === 'text') {
      const seqLen = isObj(card.text) ? card.text.seq_len : undefined
      meta = { kind: 'text', vocab: tokens, seq_len: isInt(1, 1 << 20)(seqLen) ? seqLen : DEFAULT_TEXT_SEQ_LEN }
    } else {
      meta = { kind: 'pairs', vocab: tokens }
    }
  }
  const model = modelConfigFor(meta, spec)
  try {
    validateRecurrentConfig(recurrentConfigOf(model))
  } catch (err) {
    throw new ImportError(`card.architecture.rnn.kwargs: ${(err as Error).message}`, { field: 'card.architecture.rnn.kwargs' })
  }
  const inputSize = kw.input_size
  if (inputSize !== model.inputSize) {
    const what = task === 'series' ? `the ${model.inputSize} features of card.series.mean` : `the ${model.inputSize} tokens of card.vocabulary.tokens (one-hot inputs)`
    throw new ImportError(`card.${p}input_size is ${JSON.stringify(inputSize)} but the model reads ${what}`, { field: `card.${p}input_size` })
  }
  const fc = isObj(arch.fc) && isObj(arch.fc.kwargs) ? arch.fc.kwargs : null
  if (fc && fc.out_features !== undefined && fc.out_features !== model.outputSize) {
    throw new ImportError(`card.architecture.fc.kwargs.out_features is ${JSON.stringify(fc.out_features)}; this ${task} model has ${model.outputSize} outputs`, { field: 'card.architecture.fc.kwargs.out_features' })
  }
  return { meta, model }
}

export interface TensorIn {
  shape: unknown
  data: ArrayLike<unknown>
  dtype?: string
}

/** Checks every tensor against the model's state_dict (names, shapes, finite values) and packs them. */
export function paramsFromTensors(model: SequenceModelConfig, tensors: Map<string, TensorIn>): Float64Array {
  // Imports are kept in float64 whatever the file's dtype: no precision is lost, and serving is exact.
  const target = new SequenceModel(model, createBackend('float64', 'js')).params
  const expected = new Set(target.entries.map((e) => e.name))
  for (const name of tensors.keys()) {
    if (!expected.has(name)) {
      throw new ImportError(`state_dict has ${JSON.stringify(name)}, which this model does not have; expected exactly: ${[...expected].join(', ')}`, { tensor: name })
    }
  }
  for (const e of target.entries) {
    const t = tensors.get(e.name)
    if (!t) throw new ImportError(`state_dict is missing ${e.name} (shape [${e.shape.join(', ')}])`, { tensor: e.name })
    const shape = t.shape
    if (!Array.isArray(shape) || shape.length !== e.shape.length || shape.some((d, i) => d !== e.shape[i])) {
      throw new ImportError(`${e.name} has shape ${JSON.stringify(shape)}; this card's architecture needs [${e.shape.join(', ')}]`, { tensor: e.name })
    }
    if (t.data.length !== e.size) throw new ImportError(`${e.name} has ${t.data.length} values; shape [${e.shape.join(', ')}] needs ${e.size}`, { tensor: e.name })
    for (let i = 0; i < e.size; i++) {
      const v = t.data[i]
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new ImportError(`${e.name}[${i}] is ${JSON.stringify(v) ?? String(v)}, not a finite number`, { tensor: e.name })
      target.data[e.offset + i] = v
    }
  }
  return target.data as Float64Array
}

/** `{card, state_dict: {name: {shape, data}}}` — the JSON GET /jobs/{id}/model and /weights return. */
export function importFromJson(body: unknown, limits: ImportLimits): ImportedModel {
  if (!isObj(body)) throw new ImportError('the body must be {"card": {...}, "state_dict": {...}}')
  const { meta, model } = modelFromCard(body.card, limits)
  const dict = body.state_dict
  if (!isObj(dict)) throw new ImportError('state_dict must be an object {name: {shape, data}} (the JSON GET /jobs/{id}/weights returns)', { field: 'state_dict' })
  const tensors = new Map<string, TensorIn>()
  for (const [name, t] of Object.entries(dict)) {
    if (!isObj(t) || !Array.isArray(t.data)) throw new ImportError(`state_dict.${name} must be {shape: [...], data: [numbers, row-major]}`, { tensor: name })
    tensors.set(name, { shape: t.shape, data: t.data as unknown[] })
  }
  return { meta, model, params: paramsFromTensors(model, tensors), card: body.card as Obj }
}

/** A safetensors file (F32 or F64) whose `__metadata__.card` holds the card as a JSON string. */
export function importFromSafetensors(bytes: Uint8Array, limits: ImportLimits): ImportedModel {
  let decoded
  try {
    decoded = decodeSafetensors(bytes)
  } catch (err) {
    if (err instanceof SafetensorsError) throw new ImportError(err.message, err.tensor === undefined ? {} : { tensor: err.tensor })
    throw err
  }
  const text = decoded.metadata.card
  if (text === undefined) throw new ImportError('the safetensors __metadata__ has no "card": store the model card as a JSON string under __metadata__["card"]', { field: '__metadata__.card' })
  let card: unknown
  try {
    card = JSON.parse(text)
  } catch {
    throw new ImportError('__metadata__.card is not valid JSON', { field: '__metadata__.card' })
  }
  const { meta, model } = modelFromCard(card, limits)
  return { meta, model, params: paramsFromTensors(model, decoded.tensors), card: card as Obj }
}

/** Parameters of the largest model an import may define (LSTM, every limit at its maximum). */
export function largestImportParams(limits: ImportLimits): number {
  const H = limits.maxHiddenSize
  const L = limits.maxNumLayers
  const V = Math.max(MAX_IMPORT_TOKENS, MAX_IMPORT_FEATURES)
  const G = 4 * H
  let n = 0
  for (let l = 0; l < L; l++) n += 2 * G * ((l === 0 ? V : 2 * H) + H + 2)
  return n + V * 2 * H + V
}

