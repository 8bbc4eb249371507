import type { ParamSpec } from '../params.js'

export type RecurrentMode = 'rnn_tanh' | 'rnn_relu' | 'lstm' | 'gru'

/** Mirrors the constructor arguments of torch.nn.RNN / LSTM / GRU (always batch_first). */
export interface RecurrentConfig {
  mode: RecurrentMode
  inputSize: number
  hiddenSize: number
  numLayers: number
  bidirectional: boolean
  /** LSTM only: size of the projected hidden state (0 = no projection). */
  projSize: number
  /** Dropout on the outputs of every layer but the last, in training only. */
  dropout: number
}

export function gateCount(mode: RecurrentMode): number {
  return mode === 'lstm' ? 4 : mode === 'gru' ? 3 : 1
}

export function directions(config: RecurrentConfig): number {
  return config.bidirectional ? 2 : 1
}

/** Size of h: proj_size when projecting, else hidden_size. */
export function outputHiddenSize(config: RecurrentConfig): number {
  return config.projSize > 0 ? config.projSize : config.hiddenSize
}

export function layerInputSize(config: RecurrentConfig, layer: number): number {
  return layer === 0 ? config.inputSize : outputHiddenSize(config) * directions(config)
}

export function directionSuffix(layer: number, direction: number): string {
  return `_l${layer}${direction === 1 ? '_reverse' : ''}`
}

export function validateRecurrentConfig(config: RecurrentConfig): void {
  const positive = (name: string, v: number) => {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`)
  }
  positive('input_size', config.inputSize)
  positive('hidden_size', config.hiddenSize)
  positive('num_layers', config.numLayers)
  if (!Number.isInteger(config.projSize) || config.projSize < 0) throw new RangeError(`proj_size must be a non-negative integer`)
  if (config.projSize > 0 && config.mode !== 'lstm') throw new RangeError('proj_size is only supported by LSTM')
  if (config.projSize >= config.hiddenSize && config.projSize > 0) throw new RangeError('proj_size must be smaller than hidden_size')
  if (!(config.dropout >= 0 && config.dropout < 1)) throw new RangeError('dropout must be in [0, 1)')
}

/** Parameter names, shapes and order exactly as PyTorch's `_flat_weights_names`. */
export function recurrentParamSpecs(config: RecurrentConfig, prefix = ''): ParamSpec[] {
  const G = gateCount(config.mode) * config.hiddenSize
  const Hout = outputHiddenSize(config)
  const specs: ParamSpec[] = []
  for (let layer = 0; layer < config.numLayers; layer++) {
    for (let d = 0; d < directions(config); d++) {
      const s = directionSuffix(layer, d)
      specs.push({ name: `${prefix}weight_ih${s}`, shape: [G, layerInputSize(config, layer)] })
      specs.push({ name: `${prefix}weight_hh${s}`, shape: [G, Hout] })
      specs.push({ name: `${prefix}bias_ih${s}`, shape: [G] })
      specs.push({ name: `${prefix}bias_hh${s}`, shape: [G] })
      if (config.projSize > 0) specs.push({ name: `${prefix}weight_hr${s}`, shape: [config.projSize, config.hiddenSize] })
    }
  }
  return specs
}
