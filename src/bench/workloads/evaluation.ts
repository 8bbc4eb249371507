import type { ModelBatch, SequenceModel } from '../../engine/model.js'
import { batchLoss, logitRows, type BatchTargets } from '../../engine/train-step.js'

/** Mean loss of the model on one batch in inference mode (no update, no gradients). */
export function evaluationLoss(model: SequenceModel, batch: ModelBatch, targets: BatchTargets): number {
  const logits = model.forward({ ...batch, training: false })
  return batchLoss(null, logits, targets, logitRows(model, batch), model.config.outputSize)
}
