/**
 * What a model version looks like outside seqserve: its card, its safetensors file (the card
 * inside, checksummed) and its ONNX graph. Built from a ModelSource, wherever it came from.
 */
import { createHash } from 'node:crypto'
import { SequenceModel, type SequenceModelConfig } from '../engine/model.js'
import type { TaskMeta } from '../engine/tasks/task.js'
import { type CardSource, type ModelCard, buildModelCard } from './card.js'
import { exportOnnx } from './formats/onnx.js'
import { type NamedTensor, encodeSafetensors, encodeTensorData } from './formats/safetensors.js'

/** A servable model and where it came from. */
export interface ModelSource extends Omit<CardSource, 'tensorsSha256' | 'fileSha256'> {
  meta: TaskMeta
  model: SequenceModelConfig
  params: Float64Array
}

export interface ModelArtifacts {
  card: ModelCard
  safetensors: Uint8Array
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')

/** The parameters under their PyTorch names, in state_dict order. */
export function stateTensors(config: SequenceModelConfig, params: Float64Array): NamedTensor[] {
  const model = new SequenceModel(config)
  return model.params.entries.map((e) => ({ name: e.name, shape: [...e.shape], data: params.subarray(e.offset, e.offset + e.size) }))
}

/**
 * The safetensors file carries the card (without the file's own hash) in `__metadata__.card`;
 * the card returned beside it adds `weights.sha256`, the SHA-256 of exactly that file.
 */
export function buildArtifacts(src: ModelSource): ModelArtifacts {
  const tensors = stateTensors(src.model, src.params)
  const data = encodeTensorData(tensors, 'F64')
  const embedded = buildModelCard({ ...src, tensorsSha256: sha256(data) })
  const safetensors = encodeSafetensors(tensors, { format: 'pt', card: JSON.stringify(embedded) }, 'F64', data)
  return { card: { ...embedded, weights: { ...embedded.weights, sha256: sha256(safetensors) } }, safetensors }
}

/** ONNX with the card in metadata_props["card"]. Throws ExportUnsupportedError for proj_size. */
export function buildOnnx(src: ModelSource, card: ModelCard, options: { state: boolean; producerVersion: string }): Uint8Array {
  return exportOnnx(src, { ...options, metadata: { card: JSON.stringify(card) } })
}
