import type { Floats } from '../../engine/backend/types.js'
/**
 * ONNX export of a seqserve model, shaped like `torch.onnx.export` of the equivalent PyTorch
 * module (batch_first recurrent stack + Linear head): input `input` float32
 * [batch, seq, features], output `logits` or `forecast`, and with `state` the inputs h0/c0
 * and outputs h_n/c_n ([layers*directions, batch, hidden]). Each layer is one ONNX
 * RNN/LSTM/GRU node; PyTorch's gate order is converted to ONNX's (LSTM i,f,g,o -> i,o,f,c;
 * GRU r,z,n -> z,r,h with linear_before_reset=1, which is how PyTorch's GRU applies r).
 */
import { type SequenceModelConfig, SequenceModel } from '../../engine/model.js'
import type { RecurrentMode } from '../../engine/recurrent/config.js'
import { directionSuffix, gateCount, layerInputSize } from '../../engine/recurrent/config.js'
import type { TaskMeta } from '../../engine/tasks/task.js'
import { FLOAT, INT64, type OnnxNode, type OnnxTensor, modelProto, valueInfo } from './onnx-proto.js'

/** ONNX RNN/LSTM/GRU ops need opset 7+; Slice with tensor inputs and Reshape's 0 need 10+ / 5+. */
export const ONNX_OPSET = 14
const IR_VERSION = 7

/** The model has no faithful ONNX form; the message says why (409 export_unsupported). */
export class ExportUnsupportedError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ExportUnsupportedError'
  }
}

export interface OnnxExportOptions {
  /** Add inputs h0 (and c0) and outputs h_n (and c_n), e.g. to generate text step by step. */
  state: boolean
  producerVersion: string
  /** Stored as the model's metadata_props (e.g. the card). */
  metadata: Record<string, string>
}

const OP_TYPE: Record<RecurrentMode, 'RNN' | 'LSTM' | 'GRU'> = { rnn_tanh: 'RNN', rnn_relu: 'RNN', lstm: 'LSTM', gru: 'GRU' }
/** ONNX gate block k is PyTorch's gate block GATE_ORDER[k]. */
const GATE_ORDER: Record<RecurrentMode, number[]> = { rnn_tanh: [0], rnn_relu: [0], lstm: [0, 3, 1, 2], gru: [1, 0, 2] }

/** Stacks the directions of one layer, with the gate blocks reordered: [D, gates*H, cols]. */
function reorderGates(views: Floats[], mode: RecurrentMode, H: number, cols: number): Float32Array {
  const order = GATE_ORDER[mode]
  const block = H * cols
  const out = new Float32Array(views.length * order.length * block)
  views.forEach((src, d) => {
    order.forEach((from, k) => out.set(src.subarray(from * block, (from + 1) * block), (d * order.length + k) * block))
  })
  return out
}

export function exportOnnx(checkpoint: { meta: TaskMeta; model: SequenceModelConfig; params: Floats }, options: OnnxExportOptions): Uint8Array {
  const config = checkpoint.model
  if (config.projSize > 0) {
    throw new ExportUnsupportedError(`this LSTM projects its hidden state (proj_size=${config.projSize}); ONNX's LSTM operator has no projection, so no ONNX model computes it exactly. Export safetensors or json instead`)
  }
  const model = new SequenceModel(config)
  model.params.data.set(checkpoint.params)
  const view = (name: string) => model.params.view(name)
  const { mode, hiddenSize: H, numLayers: L } = config
  const D = config.bidirectional ? 2 : 1
  const G = gateCount(mode)
  const rnnConfig = model.rnn.config
  const nodes: OnnxNode[] = []
  const inits: OnnxTensor[] = []
  const lstm = mode === 'lstm'
  const int64 = (name: string, values: number[]) => inits.push({ name, dims: [values.length], dataType: INT64, values })

  nodes.push({ opType: 'Transpose', name: 'to_time_major', inputs: ['input'], outputs: ['x_l0'], attributes: { perm: [1, 0, 2] } })
  int64('shape_merge_directions', [0, 0, -1])
  const finalH: string[] = []
  const finalC: string[] = []
  for (let l = 0; l < L; l++) {
    const dirs = Array.from({ length: D }, (_, d) => directionSuffix(l, d))
    const inSize = layerInputSize(rnnConfig, l)
    inits.push({ name: `W_l${l}`, dims: [D, G * H, inSize], dataType: FLOAT, values: reorderGates(dirs.map((s) => view(`rnn.weight_ih${s}`)), mode, H, inSize) })
    inits.push({ name: `R_l${l}`, dims: [D, G * H, H], dataType: FLOAT, values: reorderGates(dirs.map((s) => view(`rnn.weight_hh${s}`)), mode, H, H) })
    const bias = new Float32Array(D * 2 * G * H)
    dirs.forEach((s, d) => {
      bias.set(reorderGates([view(`rnn.bias_ih${s}`)], mode, H, 1), d * 2 * G * H)
      bias.set(reorderGates([view(`rnn.bias_hh${s}`)], mode, H, 1), (d * 2 + 1) * G * H)
    })
    inits.push({ name: `B_l${l}`, dims: [D, 2 * G * H], dataType: FLOAT, values: bias })
    const inputs = [`x_l${l}`, `W_l${l}`, `R_l${l}`, `B_l${l}`]
    if (options.state) {
      int64(`state_start_l${l}`, [l * D])
      int64(`state_end_l${l}`, [(l + 1) * D])
      if (l === 0) int64('axis_0', [0])
      nodes.push({ opType: 'Slice', name: `h0_slice_l${l}`, inputs: ['h0', `state_start_l${l}`, `state_end_l${l}`, 'axis_0'], outputs: [`h0_l${l}`] })
      inputs.push('', `h0_l${l}`)
      if (lstm) {
        nodes.push({ opType: 'Slice', name: `c0_slice_l${l}`, inputs: ['c0', `state_start_l${l}`, `state_end_l${l}`, 'axis_0'], outputs: [`c0_l${l}`] })
        inputs.push(`c0_l${l}`)
      }
    }
    const attributes: Record<string, number | string | string[]> = { hidden_size: H, direction: D === 2 ? 'bidirectional' : 'forward' }
    if (mode === 'gru') attributes.linear_before_reset = 1
    if (mode === 'rnn_tanh' || mode === 'rnn_relu') attributes.activations = Array(D).fill(mode === 'rnn_relu' ? 'Relu' : 'Tanh')
    const outputs = [`y_l${l}`, `h_n_l${l}`]
    if (lstm) outputs.push(`c_n_l${l}`)
    nodes.push({ opType: OP_TYPE[mode], name: `rnn_l${l}`, inputs, outputs, attributes })
    finalH.push(`h_n_l${l}`)
    if (lstm) finalC.push(`c_n_l${l}`)
    // Y is [seq, D, batch, H]; the next layer (and the head) read [seq, batch, D*H].
    nodes.push({ opType: 'Transpose', name: `y_transpose_l${l}`, inputs: [`y_l${l}`], outputs: [`y_sbdh_l${l}`], attributes: { perm: [0, 2, 1, 3] } })
    nodes.push({ opType: 'Reshape', name: `y_merge_l${l}`, inputs: [`y_sbdh_l${l}`, 'shape_merge_directions'], outputs: [`x_l${l + 1}`] })
  }

  const O = config.outputSize
  const F = H * D
  const outputName = checkpoint.meta.kind === 'series' ? 'forecast' : 'logits'
  inits.push({ name: 'fc.bias', dims: [O], dataType: FLOAT, values: Float32Array.from(view('fc.bias')) })
  let outputDims: (number | string)[]
  if (config.head === 'every_step') {
    const w = view('fc.weight')
    const wT = new Float32Array(F * O)
    for (let o = 0; o < O; o++) for (let f = 0; f < F; f++) wT[f * O + o] = w[o * F + f]
    inits.push({ name: 'fc.weight_t', dims: [F, O], dataType: FLOAT, values: wT })
    nodes.push({ opType: 'Transpose', name: 'to_batch_first', inputs: [`x_l${L}`], outputs: ['output'], attributes: { perm: [1, 0, 2] } })
    nodes.push({ opType: 'MatMul', name: 'fc_matmul', inputs: ['output', 'fc.weight_t'], outputs: ['fc_out'] })
    nodes.push({ opType: 'Add', name: 'fc_add', inputs: ['fc_out', 'fc.bias'], outputs: [outputName] })
    outputDims = ['batch', 'seq', O]
  } else {
    // The last layer's final state of each direction, [forward, reverse] per sequence.
    inits.push({ name: 'fc.weight', dims: [O, F], dataType: FLOAT, values: Float32Array.from(view('fc.weight')) })
    int64('shape_features', [0, -1])
    nodes.push({ opType: 'Transpose', name: 'final_state_transpose', inputs: [`h_n_l${L - 1}`], outputs: ['final_bdh'], attributes: { perm: [1, 0, 2] } })
    nodes.push({ opType: 'Reshape', name: 'final_state_merge', inputs: ['final_bdh', 'shape_features'], outputs: ['features'] })
    nodes.push({ opType: 'Gemm', name: 'fc', inputs: ['features', 'fc.weight', 'fc.bias'], outputs: [outputName], attributes: { transB: 1 } })
    outputDims = ['batch', O]
  }

  const stateDims = [L * D, 'batch', H]
  const graphInputs = [valueInfo('input', ['batch', 'seq', config.inputSize])]
  const graphOutputs = [valueInfo(outputName, outputDims)]
  if (options.state) {
    graphInputs.push(valueInfo('h0', stateDims))
    nodes.push({ opType: 'Concat', name: 'h_n_concat', inputs: finalH, outputs: ['h_n'], attributes: { axis: 0 } })
    graphOutputs.push(valueInfo('h_n', stateDims))
    if (lstm) {
      graphInputs.push(valueInfo('c0', stateDims))
      nodes.push({ opType: 'Concat', name: 'c_n_concat', inputs: finalC, outputs: ['c_n'], attributes: { axis: 0 } })
      graphOutputs.push(valueInfo('c_n', stateDims))
    }
  }
  return modelProto({
    irVersion: IR_VERSION,
    opset: ONNX_OPSET,
    producerName: 'seqserve',
    producerVersion: options.producerVersion,
    metadata: options.metadata,
    graph: { name: 'seqserve', nodes, initializers: inits, inputs: graphInputs, outputs: graphOutputs },
  })
}
