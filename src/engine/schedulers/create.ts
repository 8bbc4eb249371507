import { cosineAnnealingLR, exponentialLR, multiStepLR, stepLR } from './chainable.js'
import { OneCycleLR } from './one-cycle.js'
import { OptionReader } from './option-reader.js'
import { ReduceLROnPlateau } from './plateau.js'
import { type LrScheduler, type OptimizerHandle, SCHEDULER_NAMES, type SchedulerName, SchedulerOptionError } from './types.js'

export function isSchedulerName(name: unknown): name is SchedulerName {
  return typeof name === 'string' && (SCHEDULER_NAMES as readonly string[]).includes(name)
}

/**
 * Builds `torch.optim.lr_scheduler.<name>(optimizer, **options)` for an optimizer whose lr and
 * momentum are described by `optimizer`. Throws SchedulerOptionError for what PyTorch refuses
 * (and for unknown options).
 */
export function createScheduler(name: string, options: Record<string, unknown>, optimizer: OptimizerHandle): LrScheduler {
  if (!isSchedulerName(name)) {
    throw new SchedulerOptionError(`unknown scheduler ${JSON.stringify(name)} (known: ${SCHEDULER_NAMES.join(', ')})`)
  }
  const o = new OptionReader(name, options)
  switch (name) {
    case 'StepLR': return stepLR(o, optimizer.lr)
    case 'MultiStepLR': return multiStepLR(o, optimizer.lr)
    case 'ExponentialLR': return exponentialLR(o, optimizer.lr)
    case 'CosineAnnealingLR': return cosineAnnealingLR(o, optimizer.lr)
    case 'OneCycleLR': return new OneCycleLR(o, optimizer)
    case 'ReduceLROnPlateau': return new ReduceLROnPlateau(o, optimizer.lr)
  }
}
