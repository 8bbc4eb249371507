/**
 * Optimizers over one flat parameter vector, reproducing torch.optim's update rules.
 * The implementations live in ./optimizers/; this module is the public entry point.
 */
import { defaultDtype } from './backend/select.js'
import type { Backend, Dtype } from './backend/types.js'
import { AdagradOptimizer } from './optimizers/adagrad.js'
import { AdamOptimizer } from './optimizers/adam.js'
import { RmspropOptimizer } from './optimizers/rmsprop.js'
import { SgdOptimizer } from './optimizers/sgd.js'
import type { Optimizer, OptimizerName, OptimizerOptions } from './optimizers/types.js'

export type {
  AdagradOptionsResolved,
  AdamOptionsResolved,
  Optimizer,
  OptimizerName,
  OptimizerOptions,
  OptimizerState,
  ResolvedOptimizerOptions,
  ScheduledHyperparameters,
  RmspropOptionsResolved,
  SgdOptionsResolved,
} from './optimizers/types.js'

export const OPTIMIZER_NAMES: readonly OptimizerName[] = Object.freeze([
  'adam',
  'adamw',
  'sgd',
  'rmsprop',
  'adagrad',
] as const)

export function isOptimizerName(name: unknown): name is OptimizerName {
  return typeof name === 'string' && (OPTIMIZER_NAMES as readonly string[]).includes(name)
}

/**
 * Create an optimizer for `size` parameters of precision `dtype` (its state buffers use it too),
 * or of the parameters' backend: the state then lives in its memory and its kernels run the update. Throws RangeError for an unknown name, a bad size,
 * an option out of range, or an option that does not apply to the optimizer.
 */
export function createOptimizer(name: OptimizerName, size: number, options: OptimizerOptions, dtype: Dtype | Backend = defaultDtype()): Optimizer {
  switch (name) {
    case 'adam':
    case 'adamw':
      return new AdamOptimizer(name, size, options, dtype)
    case 'sgd':
      return new SgdOptimizer(size, options, dtype)
    case 'rmsprop':
      return new RmspropOptimizer(size, options, dtype)
    case 'adagrad':
      return new AdagradOptimizer(size, options, dtype)
    default:
      throw new RangeError(`unknown optimizer '${String(name)}' (known: ${OPTIMIZER_NAMES.join(', ')})`)
  }
}
