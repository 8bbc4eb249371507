import { Linear } from '../engine/linear.js'
import { FC_PREFIX, RNN_PREFIX, recurrentConfigOf, type SequenceModelConfig } from '../engine/model.js'
import type { OptimizerName } from '../engine/optimizers.js'
import { shapeSize } from '../engine/params.js'
import { outputHiddenSize, recurrentParamSpecs } from '../engine/recurrent/config.js'
import type { TrainingSpec } from '../engine/tasks/spec.js'

/** Every array of a checkpoint is stored as float64 (src/engine/tasks/checkpoint.ts). */
const BYTES_PER_VALUE = 8
/** The JSON header (vocabulary, labels, scheduler state, ...): generous for the limits the API allows. */
const HEADER_BYTES = 1024 * 1024

/** Optimizer state arrays of the size of the weights, at most (Adam with amsgrad, centered RMSprop with momentum). */
const OPTIMIZER_BUFFERS: Record<OptimizerName, number> = { adam: 3, adamw: 3, rmsprop: 3, sgd: 1, adagrad: 1 }

export interface ModelFootprint {
  /** Weights and biases, as PyTorch counts them (`sum(p.numel() for p in model.parameters())`). */
  parameters: number
  /** Upper bound on one checkpoint's size: weights, optimizer state, best weights (early stopping), carried state, header. */
  checkpointBytes: number
}

/** What a model of `config` trained with `training` holds, computed from the shapes alone (nothing allocated). */
export function modelFootprint(config: SequenceModelConfig, training: TrainingSpec): ModelFootprint {
  const rnn = recurrentConfigOf(config)
  const features = outputHiddenSize(rnn) * (rnn.bidirectional ? 2 : 1)
  const specs = [...recurrentParamSpecs(rnn, RNN_PREFIX), ...Linear.paramSpecs(FC_PREFIX, features, config.outputSize)]
  const parameters = specs.reduce((sum, spec) => sum + shapeSize(spec.shape), 0)
  const copies = 1 + OPTIMIZER_BUFFERS[training.optimizer] + (training.early_stopping?.restore_best ? 1 : 0)
  // Carried hidden state (carry_hidden): h and c of every layer and direction, per batch row.
  const carried = training.carry_hidden ? 2 * rnn.numLayers * (rnn.bidirectional ? 2 : 1) * rnn.hiddenSize * training.batch_size : 0
  return { parameters, checkpointBytes: (parameters * copies + carried) * BYTES_PER_VALUE + HEADER_BYTES }
}
