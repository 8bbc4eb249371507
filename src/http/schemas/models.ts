import { Type } from 'typebox'
import { StrictObject } from './common.js'

/** Schemas of the models resource: model cards and exports. */

const Loose = (description: string) => Type.Record(Type.String(), Type.Unknown(), { description })

export const ModelCardResponse = Type.Object({
  card_version: Type.Integer({ examples: [1] }),
  name: Type.String({ examples: ['greeter'] }),
  task: Type.Enum(['pairs', 'text', 'series', 'classes']),
  source: Loose('Where the weights come from: the job (id, status, epoch of the checkpoint, times)'),
  architecture: Loose('The PyTorch modules: `rnn` (torch.nn.RNN/LSTM/GRU and its constructor kwargs, batch_first) and `fc` (torch.nn.Linear), the input encoding, which state feeds the head, the output, and every state_dict name with its shape'),
  vocabulary: Type.Optional(Loose('Character models: `tokens` in id order and how that order was made')),
  labels: Type.Optional(Loose('Classifiers: label names in logit order')),
  series: Type.Optional(Loose('Forecasters: features, window, horizon, per-feature mean and std (population std)')),
  text: Type.Optional(Loose('Text models: `seq_len`, the training sequence length (prompts may have any length)')),
  prediction: Loose('How predict turns the network into answers (text: generation rules)'),
  precision: Loose('float64 compute and weights; ONNX exports are float32'),
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

export const BinaryFile = Type.String({ format: 'binary', description: 'safetensors (application/octet-stream) or ONNX (application/onnx) file' })
