import { Type } from 'typebox'
import { StrictObject, TaggedUnion } from './common.js'

/**
 * Schemas of `training.lr_scheduler` (torch.optim.lr_scheduler: class names and keyword
 * arguments are PyTorch's, with its defaults) and `training.early_stopping` (Keras'
 * EarlyStopping). Monitors are checked against the task when the job is submitted.
 */

const stepPer = Type.Union([Type.Literal('epoch'), Type.Literal('batch')], {
  default: 'epoch', description: 'Step the schedule after every epoch (default) or after every optimizer step',
})
const gamma = (fallback?: number) => Type.Number({ exclusiveMinimum: 0, maximum: 10, ...(fallback === undefined ? {} : { default: fallback }), description: 'Multiplicative factor of the decay' })
const monitor = Type.String({ minLength: 1, maxLength: 64, description: '`loss`, `val_loss` or a task metric (`accuracy`, `val_rmse`, ...); default `val_loss` with a validation split, else `loss`' })
const mode = Type.Union([Type.Literal('min'), Type.Literal('max')], { description: 'Default: `max` for accuracies, else `min`' })

export const LR_SCHEDULER_EXAMPLE = { type: 'OneCycleLR', max_lr: 0.05, step_per: 'batch' }

export function lrSchedulerSchema(maxSteps: number) {
  const steps = Type.Integer({ minimum: 1, maximum: maxSteps })
  return TaggedUnion('type', [
    StrictObject({ type: Type.Literal('StepLR'), step_per: stepPer, step_size: steps, gamma: gamma(0.1) }, { description: 'lr x gamma every step_size steps' }),
    StrictObject({
      type: Type.Literal('MultiStepLR'), step_per: stepPer,
      milestones: Type.Array(Type.Integer({ minimum: 0, maximum: maxSteps }), { minItems: 1, maxItems: 100 }), gamma: gamma(0.1),
    }, { description: 'lr x gamma at each milestone step' }),
    StrictObject({ type: Type.Literal('ExponentialLR'), step_per: stepPer, gamma: gamma() }, { description: 'lr x gamma every step' }),
    StrictObject({
      type: Type.Literal('CosineAnnealingLR'), step_per: stepPer, T_max: steps,
      eta_min: Type.Number({ minimum: 0, maximum: 10, default: 0 }),
    }, { description: 'Cosine from the lr down to eta_min over T_max steps (and back up)' }),
    StrictObject({
      type: Type.Literal('OneCycleLR'), step_per: stepPer,
      max_lr: Type.Number({ exclusiveMinimum: 0, maximum: 10 }),
      total_steps: Type.Optional(Type.Integer({ minimum: 1, maximum: 1e9, description: 'Default: every step the job takes (epochs, or epochs x batches with step_per "batch")' })),
      pct_start: Type.Number({ minimum: 0, maximum: 1, default: 0.3 }),
      anneal_strategy: Type.Union([Type.Literal('cos'), Type.Literal('linear')], { default: 'cos' }),
      cycle_momentum: Type.Boolean({ default: true, description: 'Cycles SGD/RMSprop momentum or Adam beta1 between max_momentum and base_momentum' }),
      base_momentum: Type.Number({ minimum: 0, exclusiveMaximum: 1, default: 0.85 }),
      max_momentum: Type.Number({ minimum: 0, exclusiveMaximum: 1, default: 0.95 }),
      div_factor: Type.Number({ exclusiveMinimum: 0, maximum: 1e9, default: 25 }),
      final_div_factor: Type.Number({ exclusiveMinimum: 0, maximum: 1e12, default: 1e4 }),
      three_phase: Type.Boolean({ default: false }),
    }, { description: "Smith's 1cycle: warm up from max_lr/div_factor to max_lr, then anneal" }),
    StrictObject({
      type: Type.Literal('ReduceLROnPlateau'), step_per: stepPer, monitor: Type.Optional(monitor), mode: Type.Optional(mode),
      factor: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.1 }),
      patience: Type.Integer({ minimum: 0, maximum: maxSteps, default: 10 }),
      threshold: Type.Number({ minimum: 0, maximum: 1e6, default: 1e-4 }),
      threshold_mode: Type.Union([Type.Literal('rel'), Type.Literal('abs')], { default: 'rel' }),
      cooldown: Type.Integer({ minimum: 0, maximum: maxSteps, default: 0 }),
      min_lr: Type.Number({ minimum: 0, maximum: 10, default: 0 }),
      eps: Type.Number({ minimum: 0, maximum: 1, default: 1e-8 }),
    }, { description: 'lr x factor once the monitored value stops improving for more than patience epochs' }),
  ], { description: 'Learning-rate schedule, as torch.optim.lr_scheduler (class name in `type`); omitted = constant', examples: [LR_SCHEDULER_EXAMPLE] })
}

export function earlyStoppingSchema(maxEpochs: number) {
  return StrictObject({
    monitor: Type.Optional(monitor),
    mode: Type.Optional(mode),
    patience: Type.Integer({ minimum: 0, maximum: maxEpochs, default: 0, description: 'Epochs without improvement before stopping' }),
    min_delta: Type.Number({ minimum: 0, maximum: 1e6, default: 0, description: 'A change smaller than this is no improvement' }),
    restore_best: Type.Boolean({ default: false, description: "Serve the best epoch's weights instead of the last" }),
  }, { description: "Stop when the monitored value stops improving, as Keras' EarlyStopping; the job ends succeeded with stopped_early", examples: [{ monitor: 'val_loss', patience: 5, restore_best: true }] })
}
