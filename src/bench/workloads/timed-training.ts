import type { ModelBatch, SequenceModel } from '../../engine/model.js'
import { createOptimizer } from '../../engine/optimizers.js'
import { LossWorkspace, trainStep, type BatchTargets } from '../../engine/train-step.js'
import { median, msSince, now, secondsSince } from '../timing.js'

export interface TimedTraining {
  /** Wall time of the timed steps together. */
  seconds: number
  stepMsMedian: number
}

/**
 * Adam steps over prepared batches: the first `warmupSteps` untimed, the next `timedSteps`
 * timed (as WORKLOADS.md defines W2 and W3). Every step polls a stop check as the training
 * worker's does (an Atomics.load of a shared flag, every time step): its cost is in the figures.
 */
export function timeTraining(
  model: SequenceModel, batches: readonly { batch: ModelBatch; targets: BatchTargets }[], lr: number,
  warmupSteps: number, timedSteps: number,
): TimedTraining {
  const optimizer = createOptimizer('adam', model.params.size, { lr }, model.params.backend)
  const workspace = new LossWorkspace()
  const stopFlag = new Int32Array(new SharedArrayBuffer(4))
  const stopRequested = () => Atomics.load(stopFlag, 0) !== 0
  for (let k = 0; k < warmupSteps; k++) trainStep(model, batches[k].batch, batches[k].targets, optimizer, null, workspace, undefined, stopRequested)
  // Preallocated so the timed loop itself allocates nothing.
  const stepMs = new Float64Array(timedSteps)
  const start = now()
  for (let k = warmupSteps; k < warmupSteps + timedSteps; k++) {
    const stepStart = now()
    trainStep(model, batches[k].batch, batches[k].targets, optimizer, null, workspace, undefined, stopRequested)
    stepMs[k - warmupSteps] = msSince(stepStart)
  }
  return { seconds: secondsSince(start), stepMsMedian: median(stepMs) }
}
