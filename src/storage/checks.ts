/** Argument checks every storage implementation makes the same way, before touching the database. */
import type { NewCheckpoint, NewLossPoint } from './types.js'

/** Non-finite losses are refused: SQLite would store NaN as NULL and JSON cannot carry Infinity. */
export function checkLossPoints(points: readonly NewLossPoint[]): void {
  for (const p of points) {
    if (!Number.isInteger(p.epoch) || p.epoch < 1) throw new RangeError(`loss epoch must be an integer >= 1, got ${p.epoch}`)
    if (!Number.isFinite(p.loss)) throw new RangeError(`loss at epoch ${p.epoch} is not finite (${p.loss})`)
    if (p.valLoss != null && !Number.isFinite(p.valLoss)) {
      throw new RangeError(`val_loss at epoch ${p.epoch} is not finite (${p.valLoss})`)
    }
    for (const [name, value] of Object.entries(p.metrics ?? {})) {
      if (!Number.isFinite(value)) throw new RangeError(`${name} at epoch ${p.epoch} is not finite (${value})`)
    }
  }
}

export function checkKeep(keep: number): void {
  if (!Number.isInteger(keep) || keep < 1) throw new RangeError(`keep must be an integer >= 1, got ${keep}`)
}

/** The checkpoint's bytes as a Buffer over the same memory (no copy). */
export function checkpointBytes(checkpoint: NewCheckpoint): Buffer {
  return Buffer.isBuffer(checkpoint.blob)
    ? checkpoint.blob
    : Buffer.from(checkpoint.blob.buffer, checkpoint.blob.byteOffset, checkpoint.blob.byteLength)
}
