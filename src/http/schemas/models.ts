import { Type } from 'typebox'
import { RESPONSE_HEADERS, StrictObject, contentResponse } from './common.js'
import { StateDictResponse } from './jobs.js'

/** Schemas of the models resource: model cards and exports. */

const Loose = (description: string) => Type.Record(Type.String(), Type.Unknown(), { description })

export const ModelCardResponse = Type.Object({
  card_version: Type.Integer({ examples: [1] }),
  name: Type.String({ examples: ['greeter'] }),
  task: Type.Enum(['pairs', 'text', 'series', 'classes']),
  source: Loose('Where the weights come from: the job (id, status, epoch of the checkpoint, times), and for a fine-tuned job `init_from` {model, version}, the version it started from'),
  architecture: Loose('The PyTorch modules: `rnn` (torch.nn.RNN/LSTM/GRU and its constructor kwargs, batch_first) and `fc` (torch.nn.Linear), the input encoding, which state feeds the head, the output, and every state_dict name with its shape'),
  vocabulary: Type.Optional(Loose('Character models: `tokens` in id order and how that order was made')),
  labels: Type.Optional(Loose('Classifiers: label names in logit order')),
  series: Type.Optional(Loose('Forecasters: features, window, horizon, per-feature mean and std (population std)')),
  text: Type.Optional(Loose('Text models: `seq_len`, the training sequence length (prompts may have any length)')),
  prediction: Loose('How predict turns the network into answers (text: generation rules)'),
  precision: Loose('compute precision (the job\'s dtype), float64 weights, float32 ONNX exports; `kernels`: the kernel set a trained job computed with (wasm or js)'),
  training: Type.Union([Loose('The training configuration of the job'), Type.Null()]),
  metrics: Loose('Final and best loss, validation losses, epochs completed'),
  data: Type.Union([Loose('A summary of the training data (never the data)'), Type.Null()]),
  weights: Loose('safetensors export: dtype, `sha256` of the file GET /jobs/{id}/weights?format=safetensors returns, `tensors_sha256` of its tensor bytes'),
}, {
  additionalProperties: false,
  description: 'Everything needed to rebuild the model outside seqserve',
  examples: [{
    card_version: 1, name: 'greeter', task: 'pairs',
    source: { kind: 'job', job: '4f6c1c8e-5c1b-4b55-9a55-5a6c1f0f2b7a', status: 'succeeded', epoch: 200, created_at: '2026-11-27T16:20:00.000Z', finished_at: '2026-11-27T16:20:01.000Z' },
    architecture: {
      framework: 'pytorch',
      rnn: { class: 'RNN', kwargs: { input_size: 4, hidden_size: 8, num_layers: 1, bias: true, batch_first: true, dropout: 0, bidirectional: false, nonlinearity: 'tanh' } },
      fc: { class: 'Linear', kwargs: { in_features: 8, out_features: 4, bias: true } },
    },
    vocabulary: { tokens: ['e', 'h', 'l', 'o'], unit: 'unicode_code_point' },
    prediction: { rules: 'output[t] = tokens[argmax(logits[t])]' },
    precision: { compute: 'float64', weights: 'float64', onnx: 'float32' },
    training: { epochs: 200, optimizer: 'adam', learning_rate: 0.1 },
    metrics: { epochs_completed: 200, final_loss: 0.0012, best_loss: 0.0012 },
    data: { type: 'pairs', pairs: 1, characters: 5 },
    weights: { format: 'safetensors', dtype: 'F64', sha256: '9f2c…', tensors_sha256: '41d0…' },
  }],
})

export const WeightsQuery = StrictObject({
  format: Type.Union([Type.Literal('json'), Type.Literal('safetensors'), Type.Literal('onnx')], {
    default: 'json',
    description: 'json: {name: {shape, data}}; safetensors: float64 tensors with the model card in __metadata__.card; onnx: a float32 inference graph (ONNX RNN/LSTM/GRU operators)',
  }),
  state: Type.Boolean({ default: false, description: 'onnx only: add inputs h0 (and c0) and outputs h_n (and c_n), [layers*directions, batch, hidden]' }),
})

/** GET .../weights: JSON by default, a file download for safetensors and ONNX. */
export const weightsResponse = contentResponse('The weights in the requested format', {
  'application/json': { schema: StateDictResponse },
  'application/octet-stream': { schema: Type.String({ format: 'binary', description: 'format=safetensors' }) },
  'application/onnx': { schema: Type.String({ format: 'binary', description: 'format=onnx' }) },
}, { headers: { 'Content-Disposition': RESPONSE_HEADERS['Content-Disposition'] } })

const Timestamp = Type.String({ format: 'date-time', examples: ['2026-11-27T16:20:01.000Z'] })

export const ModelNameParams = StrictObject({
  name: Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', description: 'Model name (the jobs\' `name`)' }),
})

export const ModelVersionParams = StrictObject({
  ...ModelNameParams.properties,
  version: Type.Integer({ minimum: 1, maximum: 2147483647, description: 'Version number' }),
})

export const AliasParams = StrictObject({
  ...ModelNameParams.properties,
  alias: Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_-]{0,63}$', description: 'Alias, e.g. `production`' }),
})

export const SetAliasBody = StrictObject({
  version: Type.Integer({ minimum: 1, maximum: 2147483647, description: 'The version the alias points to from now on' }),
}, { examples: [{ version: 2 }] })

export const ModelVersionResponse = Type.Object({
  name: Type.String(),
  version: Type.Integer(),
  source: Type.Enum(['job', 'import'], { description: '`job`: trained here; `import`: POST /models/{name}/versions' }),
  job: Type.String({ description: 'The job holding the weights (imports are stored as succeeded jobs): GET /jobs/{job}/model, /weights' }),
  aliases: Type.Array(Type.String(), { description: 'Aliases pointing at this version' }),
  created_at: Timestamp,
}, { additionalProperties: false, examples: [{ name: 'greeter', version: 2, source: 'job', job: '4f6c1c8e-5c1b-4b55-9a55-5a6c1f0f2b7a', aliases: ['production'], created_at: '2026-11-27T16:20:01.000Z' }] })

export const ModelResponse = Type.Object({
  name: Type.String(),
  latest_version: Type.Integer({ description: 'What `model=NAME` serves' }),
  aliases: Type.Record(Type.String(), Type.Integer(), { description: 'alias -> version' }),
  versions: Type.Array(ModelVersionResponse),
  created_at: Timestamp,
}, { additionalProperties: false })

export const ModelListResponse = Type.Object({ items: Type.Array(ModelResponse) }, { additionalProperties: false })

export const AliasResponse = Type.Object({
  name: Type.String(), alias: Type.String(), version: Type.Integer(),
}, { additionalProperties: false, examples: [{ name: 'greeter', alias: 'production', version: 2 }] })

export const ImportBody = Type.Object({
  card: Type.Record(Type.String(), Type.Unknown(), { description: 'The model card (GET /jobs/{id}/model); needed: task, architecture.rnn {class, kwargs}, and vocabulary.tokens / labels.names / series {mean, std, window}' }),
  state_dict: Type.Record(Type.String(), Type.Object({ shape: Type.Array(Type.Integer()), data: Type.Array(Type.Unknown()) }, { additionalProperties: false }), { description: 'PyTorch state_dict names -> {shape, data (row-major)}' }),
}, {
  additionalProperties: false,
  description: 'JSON import; or send a safetensors file as application/octet-stream with the card as a JSON string in __metadata__["card"]',
  examples: [{
    card: { task: 'pairs', architecture: { rnn: { class: 'RNN', kwargs: { input_size: 2, hidden_size: 1 } } }, vocabulary: { tokens: ['a', 'b'] } },
    state_dict: {
      'rnn.weight_ih_l0': { shape: [1, 2], data: [0.5, -0.5] }, 'rnn.weight_hh_l0': { shape: [1, 1], data: [0.1] },
      'rnn.bias_ih_l0': { shape: [1], data: [0] }, 'rnn.bias_hh_l0': { shape: [1], data: [0] },
      'fc.weight': { shape: [2, 1], data: [1, -1] }, 'fc.bias': { shape: [2], data: [0, 0] },
    },
  }],
})

/** A safetensors file; described for the docs only (the importer checks the bytes). */
export const SafetensorsBody = Type.Unsafe<Buffer>({ description: 'A safetensors file (F32 or F64 tensors, PyTorch names) with the model card as a JSON string in __metadata__["card"]' })
