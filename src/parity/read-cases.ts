import { SequenceModel } from '../engine/model.js'
import { type RecurrentConfig, type RecurrentMode, directions, outputHiddenSize, recurrentParamSpecs } from '../engine/recurrent/config.js'
import type { CellCase, ClipCase, CrossEntropyCase, MseCase, OptimizerCase, TrajectoryCase } from './fixture.js'
import type { CaseReader } from './reader.js'

/**
 * What the reference format (shared/fixtures/README.md) defines for each kind of case,
 * read strictly: a reader returns the typed case, or undefined with the reader's problems
 * naming every missing or malformed field. Shapes follow from the case's own settings.
 */

const MODES: readonly RecurrentMode[] = ['rnn_tanh', 'rnn_relu', 'lstm', 'gru']
/** PyTorch's default `ignore_index` of CrossEntropyLoss. */
const IGNORE_INDEX = -100

const specMap = (specs: readonly { name: string; shape: readonly number[] }[]) => new Map(specs.map((s) => [s.name, s.shape]))

export function readCell(r: CaseReader): CellCase | undefined {
  const mode = r.oneOf('mode', MODES)
  const inputSize = r.number('input_size', { integer: true, min: 1 })
  const hiddenSize = r.number('hidden_size', { integer: true, min: 1 })
  const numLayers = r.number('num_layers', { integer: true, min: 1 })
  const bidirectional = r.boolean('bidirectional')
  const projSize = r.number('proj_size', { integer: true, min: 0 })
  if (r.has('batch_first') && (r.raw as { batch_first: unknown }).batch_first !== true) r.fail('batch_first must be true: the format\'s tensors are batch-first')
  const x = r.tensor('x')
  if (mode === undefined || inputSize === undefined || hiddenSize === undefined || numLayers === undefined ||
    bidirectional === undefined || projSize === undefined || x === undefined) {
    // Without its settings the case's shapes are unknown: still name every missing field.
    for (const field of ['params', 'h0', 'outputs', 'g_output', 'g_h_n', 'grads']) if (!r.has(field)) r.fail(`missing field ${field}`)
    return undefined
  }
  const lstm = mode === 'lstm'
  if (projSize > 0 && !lstm) r.fail(`proj_size ${projSize} is only defined for lstm`)
  if (projSize >= hiddenSize && projSize > 0) r.fail(`proj_size must be smaller than hidden_size (${hiddenSize})`)
  if (x.shape.length !== 3 || x.shape[2] !== inputSize) {
    r.fail(`x has shape [${x.shape.join(', ')}], expected [batch, seq_len, ${inputSize}]`)
    return undefined
  }
  const [B, T] = x.shape as [number, number, number]
  for (const [field, size] of [['batch', B], ['seq_len', T]] as const) {
    if (r.has(field) && r.number(field, { integer: true }) !== size) r.fail(`${field} disagrees with x's shape (${size})`)
  }
  const config: RecurrentConfig = { mode, inputSize, hiddenSize, numLayers, bidirectional, projSize, dropout: 0 }
  const D = directions(config)
  const Hout = outputHiddenSize(config)
  const hShape = [numLayers * D, B, Hout]
  const cShape = [numLayers * D, B, hiddenSize]
  const outShape = [B, T, D * Hout]

  const params = specMap(recurrentParamSpecs(config))
  const states = new Map<string, readonly number[]>([['output', outShape], ['h_n', hShape], ...(lstm ? [['c_n', cShape] as const] : [])])
  const grads = new Map<string, readonly number[]>([...params, ['x', x.shape], ['h0', hShape], ...(lstm ? [['c0', cShape] as const] : [])])
  r.tensor('h0', hShape)
  if (lstm) r.tensor('c0', cShape)
  r.namedTensors('params', params)
  r.namedTensors('outputs', states)
  r.tensor('g_output', outShape)
  r.tensor('g_h_n', hShape)
  if (lstm) r.tensor('g_c_n', cShape)
  r.namedTensors('grads', grads)
  return r.ok ? (r.raw as CellCase) : undefined
}

export function readTrajectory(r: CaseReader): TrajectoryCase | undefined {
  const mode = r.oneOf('mode', MODES)
  const input = r.string('input')
  const target = r.string('target')
  const hiddenSize = r.number('hidden_size', { integer: true, min: 1 })
  r.string('optimizer')
  r.number('lr', { min: 0 })
  const epochs = r.number('epochs', { integer: true, min: 1 })
  r.boolean('carry_hidden_across_epochs')
  r.oneOf('dtype', ['float32', 'float64'])
  const predicted = r.string('predicted')
  if (epochs !== undefined) r.numbers('losses', epochs)
  else r.numbers('losses')
  if (mode === undefined || input === undefined || target === undefined || hiddenSize === undefined) {
    for (const field of ['initial_params', 'final_params']) if (!r.has(field)) r.fail(`missing field ${field}`)
    return undefined
  }
  if ([...input].length === 0 || [...input].length !== [...target].length) r.fail('input and target must be non-empty and of the same length')
  if (predicted !== undefined && [...predicted].length !== [...input].length) r.fail('predicted must have one character per input step')
  // The vocabulary is list(input): char_set, when given, must be exactly that.
  const charSet = [...input]
  if (r.has('char_set') && JSON.stringify((r.raw as { char_set: unknown }).char_set) !== JSON.stringify(charSet)) {
    r.fail(`char_set must be list(input) = ${JSON.stringify(charSet)}`)
  }
  const raw = r.raw as Partial<TrajectoryCase>
  const model = new SequenceModel({
    mode, inputSize: charSet.length, oneHot: true, hiddenSize, numLayers: raw.num_layers ?? 1,
    bidirectional: raw.bidirectional ?? false, projSize: raw.proj_size ?? 0, dropout: 0, outputSize: charSet.length, head: 'every_step',
  })
  const params = specMap(model.params.entries)
  r.namedTensors('initial_params', params)
  r.namedTensors('final_params', params)
  return r.ok ? ({ char_set: charSet, ...raw } as TrajectoryCase) : undefined
}

export function readOptimizer(r: CaseReader): OptimizerCase | undefined {
  r.string('optimizer')
  r.object('options')
  const p0 = r.tensor('p0')
  const grads = r.tensorList('grads', { shape: () => p0?.shape })
  r.tensorList('params_after_each_step', { length: grads?.length, shape: () => p0?.shape })
  return r.ok ? (r.raw as OptimizerCase) : undefined
}

export function readLoss(r: CaseReader): CrossEntropyCase | MseCase | undefined {
  const kind = r.oneOf('loss', ['cross_entropy', 'mse'])
  r.number('value')
  if (r.has('reduction')) r.oneOf('reduction', ['mean'])
  if (kind === 'cross_entropy') {
    const logits = r.tensor('logits')
    if (logits && logits.shape.length !== 2) r.fail(`logits has shape [${logits.shape.join(', ')}], expected [rows, classes]`)
    const [rows, classes] = logits?.shape ?? []
    const targets = r.numbers('targets', rows)
    if (targets && classes !== undefined && !targets.every((c) => Number.isInteger(c) && ((c >= 0 && c < classes) || c === IGNORE_INDEX))) {
      r.fail(`targets must be class indices in [0, ${classes}) or ${IGNORE_INDEX}`)
    }
    r.tensor('grad_logits', logits?.shape)
  } else if (kind === 'mse') {
    const pred = r.tensor('pred')
    r.tensor('target', pred?.shape)
    r.tensor('grad_pred', pred?.shape)
  }
  return r.ok ? (r.raw as CrossEntropyCase | MseCase) : undefined
}

export function readClip(r: CaseReader): ClipCase | undefined {
  r.number('max_norm', { min: 0 })
  if (r.has('norm_type')) r.number('norm_type')
  const grads = r.tensorList('grads')
  r.number('total_norm', { min: 0 })
  r.tensorList('clipped', { length: grads?.length, shape: (i) => grads?.[i]?.shape })
  return r.ok ? (r.raw as ClipCase) : undefined
}
