import type { Test } from 'tap'
import type { LossView } from './jobs-client.js'
import type { ReferenceLoss } from './job-specs.js'

/**
 * The loss history holds every epoch 1..N exactly once, and each value is bit-for-bit the
 * uninterrupted reference run's (exact equality: a resumed run must continue the same trajectory).
 */
export function assertLossHistory(t: Test, label: string, losses: readonly LossView[], reference: readonly ReferenceLoss[]): void {
  t.same(losses.map((p) => p.epoch), reference.map((r) => r.epoch), `${label}: every epoch 1..${reference.length} exactly once, in order`)
  const mismatches = reference.flatMap((r, i) => {
    const point = losses[i]
    const valLoss = point?.val_loss ?? null
    return point?.loss === r.loss && valLoss === r.valLoss ? [] : [{ epoch: r.epoch, got: point && { loss: point.loss, valLoss }, want: { loss: r.loss, valLoss: r.valLoss } }]
  })
  t.same(mismatches.slice(0, 3), [], `${label}: losses identical to an uninterrupted run (${mismatches.length} epochs differ)`)
}
