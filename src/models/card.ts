import type { Dtype, KernelSetName } from '../engine/backend/types.js'
/**
 * The model card: everything needed to rebuild and run a seqserve model outside seqserve, as
 * one JSON document (the Hugging Face config + tokenizer idea, in PyTorch terms). Pure: it is
 * built from what the checkpoint and the job already hold.
 */
import type { SequenceModelConfig } from '../engine/model.js'
import { type RecurrentMode, recurrentParamSpecs } from '../engine/recurrent/config.js'
import { recurrentConfigOf } from '../engine/model.js'
import type { TaskMeta } from '../engine/tasks/task.js'

export const CARD_VERSION = 1

export const VOCABULARY_ORDER = 'Unique characters (Unicode code points) of the training data, sorted by their UTF-16 code units (JavaScript string order). This equals Python\'s sorted() except for characters above U+FFFF, which sort before U+E000..U+FFFF here; use `tokens` as given, id = index.'
export const LABEL_ORDER = 'Unique labels sorted by UTF-16 code units (JavaScript string order); logit j is labels[j].'
export const STD_KIND = 'population standard deviation (divide by N: numpy.std(ddof=0), torch.std(unbiased=False)); a feature with zero spread has std 1'

const TORCH_CLASS: Record<RecurrentMode, 'RNN' | 'LSTM' | 'GRU'> = { rnn_tanh: 'RNN', rnn_relu: 'RNN', lstm: 'LSTM', gru: 'GRU' }

export interface ModelCard {
  card_version: number
  name: string
  task: TaskMeta['kind']
  /** `init_from`: the model version a fine-tuned job started from. */
  source: { kind: 'job' | 'import'; job: string; status: string; epoch: number; created_at: string | null; finished_at: string | null; init_from?: { model: string; version: number } }
  architecture: {
    framework: 'pytorch'
    rnn: { class: 'RNN' | 'LSTM' | 'GRU'; kwargs: Record<string, number | boolean | string> }
    fc: { class: 'Linear'; kwargs: { in_features: number; out_features: number; bias: true } }
    input: { encoding: 'one_hot' | 'standardized'; size: number; description: string }
    head: { reads: 'every_step' | 'final_state'; expression: string; description: string }
    output: { name: 'logits' | 'forecast'; shape: string[]; description: string }
    state_dict: { name: string; shape: number[] }[]
  }
  vocabulary?: { tokens: string[]; unit: 'unicode_code_point'; order: string }
  labels?: { names: string[]; order: string }
  series?: {
    features: number
    multivariate: boolean
    window: number
    horizon: number
    mean: number[]
    std: number[]
    std_kind: string
    standardize: string
  }
  /** Text models: the training sequence length (truncated backpropagation); prompts may have any length. */
  text?: { seq_len: number }
  prediction: { rules: string; generation?: Record<string, string> }
  /** `compute`: what the model trained and predicts in; the exported weights are float64 either way (float32 values convert exactly). */
  /** `kernels`: the kernel set training computed with (checkpoint kernels; absent for imports). */
  precision: { compute: Dtype; weights: 'float64'; onnx: 'float32'; kernels?: KernelSetName }
  training: Record<string, unknown> | null
  metrics: { epochs_completed: number; loss_kind: string; final_loss: number | null; best_loss: number | null; best_loss_of: string; final_val_loss: number | null; best_val_loss: number | null }
  data: Record<string, unknown> | null
  weights: { format: 'safetensors'; dtype: 'F64'; sha256?: string; tensors_sha256: string; checksum_of: string }
}

export interface CardSource {
  name: string
  job: {
    kind: 'job' | 'import'; id: string; status: string; createdAt: string | null; finishedAt: string | null; training: Record<string, unknown> | null; dataSummary: Record<string, unknown> | null
    /** The version a fine-tuned job started from (training.init_from). */
    initFrom?: { model: string; version: number }
  }
  meta: TaskMeta
  model: SequenceModelConfig
  /** The precision the engine computed in (checkpoint dtype). */
  dtype: Dtype
  /** The kernel set training computed with (checkpoint kernels), for trained jobs. */
  kernels?: KernelSetName
  epoch: number
  loss: number | null
  bestLoss: number | null
  valLosses: readonly (number | null)[]
  /** SHA-256 (hex) of the tensor bytes of the safetensors export. */
  tensorsSha256: string
  /** SHA-256 (hex) of the whole safetensors export; absent in the card embedded in that file (it cannot hold its own hash). */
  fileSha256?: string
}

/** The `torch.nn` constructor arguments of the recurrent module (always batch_first). */
export function torchRecurrentKwargs(model: SequenceModelConfig): Record<string, number | boolean | string> {
  const kwargs: Record<string, number | boolean | string> = {
    input_size: model.inputSize, hidden_size: model.hiddenSize, num_layers: model.numLayers,
    bias: true, batch_first: true, dropout: model.dropout, bidirectional: model.bidirectional,
  }
  if (model.mode === 'rnn_tanh' || model.mode === 'rnn_relu') kwargs.nonlinearity = model.mode === 'rnn_relu' ? 'relu' : 'tanh'
  if (model.mode === 'lstm') kwargs.proj_size = model.projSize
  return kwargs
}

function headOf(model: SequenceModelConfig): ModelCard['architecture']['head'] {
  if (model.head === 'every_step') {
    return { reads: 'every_step', expression: 'fc(rnn(x)[0])', description: 'The head reads the recurrent output at every step: logits = fc(output), [batch, seq, out_features].' }
  }
  const D = model.bidirectional ? 2 : 1
  const expression = D === 2 ? 'fc(torch.cat([h_n[-2], h_n[-1]], dim=1))' : 'fc(h_n[-1])'
  return {
    reads: 'final_state',
    expression,
    description: `The head reads the last layer's final hidden state h_n (for LSTM the first element of (h_n, c_n))${D === 2 ? ', forward then reverse direction concatenated; NOT output[:, -1], whose reverse half has read only the last step' : ''}.`,
  }
}

function inputOf(meta: TaskMeta, model: SequenceModelConfig): ModelCard['architecture']['input'] {
  if (model.oneHot) return { encoding: 'one_hot', size: model.inputSize, description: 'x[b, t] = one_hot(vocabulary id of character t), float, shape [batch, seq, vocabulary size].' }
  const F = meta.kind === 'series' ? meta.features : model.inputSize
  return { encoding: 'standardized', size: F, description: 'x[b, t] = (row_t - series.mean) / series.std per feature, shape [batch, seq, features].' }
}

function outputOf(meta: TaskMeta): ModelCard['architecture']['output'] {
  switch (meta.kind) {
    case 'pairs':
    case 'text': return { name: 'logits', shape: ['batch', 'seq', 'vocabulary'], description: 'Unnormalised log-probabilities of the next (text) or target (pairs) character at every step.' }
    case 'classes': return { name: 'logits', shape: ['batch', 'labels'], description: 'softmax(logits) gives the probability of each label, in labels.names order.' }
    case 'series': return { name: 'forecast', shape: ['batch', 'features'], description: 'The next row, in standardised units: multiply by series.std and add series.mean.' }
  }
}

function predictionOf(meta: TaskMeta): ModelCard['prediction'] {
  switch (meta.kind) {
    case 'pairs': return { rules: 'The input runs from a zero state; output[t] = tokens[argmax(logits[t])]: the output has the length of the input.' }
    case 'classes': return { rules: 'The input runs from a zero state; probabilities = softmax(logits); label = labels.names[argmax].' }
    case 'series': return { rules: 'Standardise the input rows; the model reads the last `window` rows (all of them when fewer) from a zero state and predicts the next standardised row, which is appended; repeat `horizon` times, de-standardising each predicted row for the answer.' }
    case 'text': return {
      rules: 'Next-character language model; see generation.',
      generation: {
        prompt: 'The whole prompt runs from a zero state (h0 = c0 = 0); the logits of its last step give the first generated character.',
        feedback: 'Each generated character is fed back as a one-step input, carrying the recurrent state (h, c) from the step before; the prompt is not re-read.',
        output: 'The response `output` holds only the generated characters, not the prompt.',
        sampling: 'temperature 0: argmax (greedy). Otherwise logits / temperature; with top_k > 0 only the k largest logits (ties at the threshold kept) stay; then softmax and a draw with seqserve\'s seeded generator.',
      },
    }
  }
}

function lastNonNull(values: readonly (number | null)[]): number | null {
  for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null) return values[i]
  return null
}

export function buildModelCard(src: CardSource): ModelCard {
  const { meta, model } = src
  const D = model.bidirectional ? 2 : 1
  const hOut = model.projSize > 0 ? model.projSize : model.hiddenSize
  const vals = src.valLosses.filter((v): v is number => v !== null)
  const card: ModelCard = {
    card_version: CARD_VERSION,
    name: src.name,
    task: meta.kind,
    source: {
      kind: src.job.kind, job: src.job.id, status: src.job.status, epoch: src.epoch, created_at: src.job.createdAt, finished_at: src.job.finishedAt,
      ...(src.job.initFrom ? { init_from: { model: src.job.initFrom.model, version: src.job.initFrom.version } } : {}),
    },
    architecture: {
      framework: 'pytorch',
      rnn: { class: TORCH_CLASS[model.mode], kwargs: torchRecurrentKwargs(model) },
      fc: { class: 'Linear', kwargs: { in_features: hOut * D, out_features: model.outputSize, bias: true } },
      input: inputOf(meta, model),
      head: headOf(model),
      output: outputOf(meta),
      state_dict: [
        ...recurrentParamSpecs(recurrentConfigOf(model), 'rnn.'),
        { name: 'fc.weight', shape: [model.outputSize, hOut * D] },
        { name: 'fc.bias', shape: [model.outputSize] },
      ],
    },
    prediction: predictionOf(meta),
    precision: { compute: src.dtype, weights: 'float64', onnx: 'float32', ...(src.kernels ? { kernels: src.kernels } : {}) },
    training: src.job.training,
    metrics: {
      epochs_completed: src.epoch,
      loss_kind: meta.kind === 'series' ? 'mean squared error on standardised values' : 'mean cross-entropy per character (classes: per example)',
      final_loss: src.loss,
      best_loss: src.bestLoss,
      best_loss_of: vals.length > 0 ? 'validation loss' : 'training loss',
      final_val_loss: lastNonNull(src.valLosses),
      best_val_loss: vals.length > 0 ? Math.min(...vals) : null,
    },
    data: src.job.dataSummary,
    weights: {
      format: 'safetensors', dtype: 'F64',
      ...(src.fileSha256 === undefined ? {} : { sha256: src.fileSha256 }),
      tensors_sha256: src.tensorsSha256,
      checksum_of: 'sha256: the file GET /jobs/{id}/weights?format=safetensors returns (the card inside that file has no sha256: a file cannot hold its own hash); tensors_sha256: its tensor bytes after the header.',
    },
  }
  if ('vocab' in meta) card.vocabulary = { tokens: [...meta.vocab], unit: 'unicode_code_point', order: VOCABULARY_ORDER }
  if (meta.kind === 'text') card.text = { seq_len: meta.seq_len }
  if (meta.kind === 'classes') card.labels = { names: [...meta.labels], order: LABEL_ORDER }
  if (meta.kind === 'series') {
    card.series = {
      features: meta.features, multivariate: meta.multivariate, window: meta.window, horizon: meta.horizon,
      mean: [...meta.mean], std: [...meta.std], std_kind: STD_KIND,
      standardize: 'x_std = (x - mean) / std per feature; forecast = y_std * std + mean',
    }
  }
  return card
}
