import type { Dtype, Floats, KernelSetName } from '../backend/types.js'
import type { SequenceModelConfig } from '../model.js'
import type { OptimizerName } from '../optimizers.js'
import type { SchedulerState } from '../schedulers/types.js'
import type { EarlyStoppingState } from './early-stopping.js'
import type { TaskMeta } from './task.js'

export const CHECKPOINT_FORMAT = 1
const MAGIC = 0x56535153 // "SQSV" little-endian

/** Everything needed to serve the model and to resume training exactly where it stopped. */
export interface Checkpoint {
  meta: TaskMeta
  model: SequenceModelConfig
  /**
   * Precision and kernel set the run computes with, fixed when it first starts so a resume
   * computes exactly what the uninterrupted run would. Checkpoints written before these fields
   * existed decode as float64 on the js kernels (what computed them). The arrays are stored as
   * float64 either way (exact for float32 values).
   */
  dtype: Dtype
  kernels: KernelSetName
  /** Completed epochs. */
  epoch: number
  loss: number | null
  bestLoss: number | null
  /** Training time spent so far, across resumes. */
  elapsedMs: number
  rng: number[]
  optimizer: { name: OptimizerName; step: number; buffers: Record<string, Floats> }
  params: Floats
  /** Carried hidden state per batch (h then c), when the job carries it across epochs. */
  carry: Floats[]
  /** The lr scheduler's state, when the job has one (absent in older checkpoints). */
  schedule?: SchedulerState | null
  /** Early stopping's counters and, with restore_best, the best epoch's weights. */
  earlyStopping?: (EarlyStoppingState & { bestParams: Floats | null }) | null
}

/** The JSON part of the encoding: everything but the arrays, which follow it as float64s. */
type Header = Omit<Checkpoint, 'optimizer' | 'params' | 'carry' | 'dtype' | 'kernels' | 'earlyStopping'> & Partial<Pick<Checkpoint, 'dtype' | 'kernels'>> & {
  format: number
  optimizer: { name: OptimizerName; step: number; buffers: string[] }
  /** Number of carried-state arrays. */
  carry: number
  /** The best weights, when present, are the last array. */
  earlyStopping?: (EarlyStoppingState & { bestParams: boolean }) | null
  /** Length of every array, in order: params, optimizer buffers (by name), carry. */
  arrays: number[]
}

/**
 * Binary layout: u32 magic, u32 header length, UTF-8 JSON header, zero padding to 8 bytes,
 * then the float64 arrays (params, optimizer buffers, carry) back to back, little-endian.
 */
export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  const bufferNames = Object.keys(c.optimizer.buffers).sort()
  const best = c.earlyStopping?.bestParams ?? null
  const arrays = [c.params, ...bufferNames.map((n) => c.optimizer.buffers[n]), ...c.carry, ...(best ? [best] : [])]
  const header: Header = {
    format: CHECKPOINT_FORMAT, meta: c.meta, model: c.model, dtype: c.dtype, kernels: c.kernels, epoch: c.epoch, loss: c.loss, bestLoss: c.bestLoss,
    elapsedMs: c.elapsedMs, rng: c.rng,
    optimizer: { name: c.optimizer.name, step: c.optimizer.step, buffers: bufferNames },
    carry: c.carry.length, arrays: arrays.map((a) => a.length),
    schedule: c.schedule ?? null,
    earlyStopping: c.earlyStopping ? { ...c.earlyStopping, bestParams: best !== null } : null,
  }
  const json = new TextEncoder().encode(JSON.stringify(header))
  const dataStart = Math.ceil((8 + json.length) / 8) * 8
  const total = dataStart + arrays.reduce((n, a) => n + a.length * 8, 0)
  const bytes = new Uint8Array(total)
  const view = new DataView(bytes.buffer)
  view.setUint32(0, MAGIC, true)
  view.setUint32(4, json.length, true)
  bytes.set(json, 8)
  let offset = dataStart
  for (const a of arrays) {
    for (let i = 0; i < a.length; i++) view.setFloat64(offset + i * 8, a[i], true)
    offset += a.length * 8
  }
  return bytes
}

function readHeader(bytes: Uint8Array): { header: Header; dataStart: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (bytes.byteLength < 8 || view.getUint32(0, true) !== MAGIC) throw new Error('not a seqserve checkpoint')
  const jsonLength = view.getUint32(4, true)
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + jsonLength))) as Header
  if (header.format !== CHECKPOINT_FORMAT) throw new Error(`checkpoint format ${header.format} is not supported (expected ${CHECKPOINT_FORMAT})`)
  return { header, dataStart: Math.ceil((8 + jsonLength) / 8) * 8 }
}

/** What a checkpoint says about its model, without decoding the weights (cheap: the JSON header only). */
export function decodeCheckpointHeader(bytes: Uint8Array): Pick<Checkpoint, 'meta' | 'model' | 'epoch'> & { parameterCount: number } {
  const { header } = readHeader(bytes)
  return { meta: header.meta, model: header.model, epoch: header.epoch, parameterCount: header.arrays[0] ?? 0 }
}

export function decodeCheckpoint(bytes: Uint8Array): Checkpoint {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const { header, dataStart } = readHeader(bytes)
  let offset = dataStart
  const arrays = header.arrays.map((length) => {
    if (offset + length * 8 > bytes.byteLength) throw new Error('checkpoint is truncated')
    const a = new Float64Array(length)
    for (let i = 0; i < length; i++) a[i] = view.getFloat64(offset + i * 8, true)
    offset += length * 8
    return a
  })
  const params = arrays[0]
  const names = header.optimizer.buffers
  const buffers: Record<string, Float64Array> = {}
  names.forEach((n, i) => { buffers[n] = arrays[1 + i] })
  return {
    meta: header.meta, model: header.model, dtype: header.dtype ?? 'float64', kernels: header.kernels ?? 'js', epoch: header.epoch, loss: header.loss, bestLoss: header.bestLoss,
    elapsedMs: header.elapsedMs, rng: header.rng,
    optimizer: { name: header.optimizer.name, step: header.optimizer.step, buffers },
    params, carry: arrays.slice(1 + names.length, 1 + names.length + header.carry),
    schedule: header.schedule ?? null,
    earlyStopping: header.earlyStopping
      ? { ...header.earlyStopping, bestParams: header.earlyStopping.bestParams ? arrays[1 + names.length + header.carry] : null }
      : null,
  }
}
