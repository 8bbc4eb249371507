/**
 * Cross-field checks and defaults of `training.lr_scheduler` and `training.early_stopping`
 * that depend on the task: which values can be monitored (the task's metrics; `val_` ones
 * only with a validation split), the mode a monitor implies, and whether the scheduler can
 * drive the optimizer for the steps the job takes.
 */
import { TrainingSchedule, optimizerHandle } from '../schedulers/training-schedule.js'
import { SchedulerOptionError } from '../schedulers/types.js'
import { higherIsBetter, metricNames } from './metrics.js'
import type { TrainingSpec } from './spec.js'
import type { PreparedTask } from './task.js'

/** A training setting the task cannot honour; the message names the field and what to change. */
export class TrainingConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'TrainingConfigError'
  }
}

/** Values an epoch reports, by name: `loss`, the task's metrics, and their `val_` twins with a validation split. */
export function monitorNames(task: PreparedTask): string[] {
  const train = ['loss', ...metricNames(task.meta.kind)]
  return task.validation ? [...train, ...train.map((n) => `val_${n}`)] : train
}

function resolveMonitor(field: string, monitor: string | undefined, task: PreparedTask): string {
  const names = monitorNames(task)
  const chosen = monitor ?? (task.validation ? 'val_loss' : 'loss')
  if (!names.includes(chosen)) {
    const hint = chosen.startsWith('val_') && !task.validation ? ' (val_ values need training.validation_split > 0)' : ''
    throw new TrainingConfigError(`${field} is ${JSON.stringify(chosen)}, which a ${task.meta.kind} job does not report${hint}; choose one of ${names.join(', ')}`)
  }
  return chosen
}

/** The training spec with monitors and modes filled in; throws TrainingConfigError for what cannot work. */
export function resolveTrainingConfig(training: TrainingSpec, task: PreparedTask): TrainingSpec {
  const out: TrainingSpec = { ...training }
  if (training.early_stopping) {
    const monitor = resolveMonitor('training.early_stopping.monitor', training.early_stopping.monitor, task)
    out.early_stopping = { ...training.early_stopping, monitor, mode: training.early_stopping.mode ?? (higherIsBetter(monitor) ? 'max' : 'min') }
  }
  if (training.lr_scheduler) {
    const spec = { ...training.lr_scheduler }
    if (spec.type === 'ReduceLROnPlateau') {
      spec.monitor = resolveMonitor('training.lr_scheduler.monitor', spec.monitor, task)
      if (spec.mode === undefined) spec.mode = higherIsBetter(spec.monitor) ? 'max' : 'min'
    } else if (spec.monitor !== undefined) {
      throw new TrainingConfigError(`training.lr_scheduler.monitor applies to ReduceLROnPlateau only; remove it from ${spec.type}`)
    }
    try {
      new TrainingSchedule(spec, optimizerHandle(training.optimizer, training.learning_rate, training.momentum), task.train.batchCount, training.epochs)
    } catch (err) {
      if (err instanceof SchedulerOptionError) throw new TrainingConfigError(`training.lr_scheduler: ${err.message}`)
      throw err
    }
    out.lr_scheduler = spec
  }
  return out
}
