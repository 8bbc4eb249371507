import type { Floats } from '../backend/types.js'
/**
 * Task metrics, accumulated batch by batch over an epoch (the training pass, as Keras reports
 * them, or the validation pass) beside the loss:
 *
 * - pairs: `accuracy` (per target character) and `sequence_accuracy` (every character right);
 * - classes: `accuracy` (per sequence);
 * - text: `perplexity` = exp(loss) and `bpc` (bits per character) = loss / ln 2;
 * - series: `mae` and `rmse` of the next value, in the series' original units.
 *
 * Validation values carry Keras' `val_` prefix (`val_accuracy`); any of them can be monitored.
 */
import type { BatchTargets } from '../train-step.js'
import type { TaskMeta } from './task.js'

export type Metrics = Record<string, number>

const NAMES: Record<TaskMeta['kind'], readonly string[]> = {
  pairs: ['accuracy', 'sequence_accuracy'],
  classes: ['accuracy'],
  text: ['perplexity', 'bpc'],
  series: ['mae', 'rmse'],
}

/** The metric names of a task, without the `val_` prefix. */
export function metricNames(kind: TaskMeta['kind']): readonly string[] {
  return NAMES[kind]
}

/** Whether larger is better (Keras' "auto" mode: accuracies are maximised, the rest minimised). */
export function higherIsBetter(monitor: string): boolean {
  return monitor.includes('accuracy')
}

/** Index of the largest of `cols` values starting at `offset` (first on ties, as torch.argmax). */
function argmaxAt(values: Floats, offset: number, cols: number): number {
  let best = 0
  for (let j = 1; j < cols; j++) if (values[offset + j] > values[offset + best]) best = j
  return best
}

export class MetricAccumulator {
  private correct = 0
  private counted = 0
  private sequencesRight = 0
  private sequences = 0
  private absError = 0
  private squaredError = 0
  private values = 0
  private sequenceOk = new Uint8Array(0)

  constructor(private readonly meta: TaskMeta, private readonly outputs: number) {}

  reset(): void {
    this.correct = this.counted = this.sequencesRight = this.sequences = 0
    this.absError = this.squaredError = this.values = 0
  }

  /** One batch: the logits of a forward pass over `B` sequences (rows time-major for per-step heads). */
  add(logits: Floats, targets: BatchTargets, rows: number, B: number): void {
    const O = this.outputs
    if (targets.kind === 'values') {
      if (this.meta.kind !== 'series') return
      const std = this.meta.std
      for (let r = 0; r < rows; r++) {
        for (let f = 0; f < O; f++) {
          // The model works on z-scores; the error in original units scales by the feature's std.
          const err = (logits[r * O + f] - targets.targets[r * O + f]) * std[f]
          this.absError += Math.abs(err)
          this.squaredError += err * err
        }
      }
      this.values += rows * O
      return
    }
    if (this.meta.kind === 'text') return
    const y = targets.targets
    const perStep = this.meta.kind === 'pairs'
    if (perStep && this.sequenceOk.length < B) this.sequenceOk = new Uint8Array(B)
    if (perStep) this.sequenceOk.fill(1, 0, B)
    for (let r = 0; r < rows; r++) {
      if (y[r] < 0) continue
      const right = argmaxAt(logits, r * O, O) === y[r]
      this.counted++
      if (right) this.correct++
      else if (perStep) this.sequenceOk[r % B] = 0
    }
    if (perStep) {
      for (let b = 0; b < B; b++) this.sequencesRight += this.sequenceOk[b]
      this.sequences += B
    }
  }

  /** The epoch's metrics; `meanLoss` is the epoch's loss (perplexity and bpc derive from it). */
  result(meanLoss: number, prefix = ''): Metrics {
    const out: Metrics = {}
    switch (this.meta.kind) {
      case 'pairs':
        out[`${prefix}accuracy`] = this.counted > 0 ? this.correct / this.counted : 0
        out[`${prefix}sequence_accuracy`] = this.sequences > 0 ? this.sequencesRight / this.sequences : 0
        break
      case 'classes':
        out[`${prefix}accuracy`] = this.counted > 0 ? this.correct / this.counted : 0
        break
      case 'text':
        out[`${prefix}perplexity`] = Math.exp(meanLoss)
        out[`${prefix}bpc`] = meanLoss / Math.LN2
        break
      case 'series':
        out[`${prefix}mae`] = this.values > 0 ? this.absError / this.values : 0
        out[`${prefix}rmse`] = this.values > 0 ? Math.sqrt(this.squaredError / this.values) : 0
        break
    }
    return out
  }
}
