import { Type, type Static } from 'typebox'
import type { Limits } from '../../config.js'
import { DEFAULT_DTYPE } from '../../engine/backend/select.js'
import { OPTIMIZER_NAMES } from '../../engine/optimizers.js'
import { ALIAS_PATTERN } from '../../models/registry.js'
import { JOB_STATUSES } from '../../storage/types.js'
import { JOB_ERROR_CATALOGUE } from '../errors.js'
import { defaultsOf, defaultWithin, Nullable, storedShape, StrictObject, TaggedUnion } from './common.js'
import { earlyStoppingSchema, lrSchedulerSchema } from './training-control.js'

/**
 * Schemas of the jobs resource. Request schemas are built from the configured limits so a
 * value over a limit is rejected by validation with a message naming the field and bound.
 */

export const TUTORIAL_JOB = {
  name: 'greeter',
  model: { type: 'rnn', hidden_size: 8, num_layers: 1, bidirectional: false, dropout: 0, nonlinearity: 'tanh' },
  data: { type: 'pairs', pairs: [{ input: 'hello', target: 'elloh' }] },
  training: {
    epochs: 200, optimizer: 'adam', learning_rate: 0.1, batch_size: 1, seed: 0, clip_grad_norm: null,
    validation_split: 0, checkpoint_every: 10, max_runtime_seconds: 3600,
  },
}

export function modelSchema(limits: Limits) {
  return StrictObject({
    type: Type.Union([Type.Literal('rnn'), Type.Literal('lstm'), Type.Literal('gru')], { description: 'Recurrent layer, as torch.nn.RNN / LSTM / GRU' }),
    hidden_size: Type.Integer({ minimum: 1, maximum: limits.maxHiddenSize, default: defaultWithin(64, limits.maxHiddenSize), description: 'Features in the hidden state' }),
    num_layers: Type.Integer({ minimum: 1, maximum: limits.maxNumLayers, default: 1 }),
    bidirectional: Type.Boolean({ default: false }),
    dropout: Type.Number({ minimum: 0, exclusiveMaximum: 1, default: 0, description: 'Dropout between layers in training (needs num_layers > 1)' }),
    nonlinearity: Type.Union([Type.Literal('tanh'), Type.Literal('relu')], { default: 'tanh', description: 'rnn only' }),
    proj_size: Type.Integer({ minimum: 0, default: 0, description: 'lstm only: projects h to this size (< hidden_size); 0 = off' }),
    dtype: Type.Union([Type.Literal('float32'), Type.Literal('float64')], {
      default: DEFAULT_DTYPE,
      description: 'Precision of the weights and of training and prediction (float32 is PyTorch\'s default and the faster one; float64 is the exact reference). Fixed for the job, kept in its checkpoints.',
    }),
    kernels: Type.Optional(Type.Union([Type.Literal('wasm'), Type.Literal('js')], {
      description: 'Kernel set training computes with: WebAssembly SIMD or plain JavaScript. Omitted: the server\'s default (wasm), except that a job ' +
        'whose working memory would pass WebAssembly\'s 4 GiB (large batch x long sequences x hidden size) is set to "js" at submission. Fixed for the job, kept in its checkpoints.',
    })),
  }, { examples: [TUTORIAL_JOB.model] })
}

export function dataSchema(limits: Limits) {
  const sequence = Type.String({ minLength: 1, maxLength: limits.maxSeqLen })
  const pairs = StrictObject({
    type: Type.Literal('pairs'),
    pairs: Type.Array(StrictObject({ input: sequence, target: Type.String({ maxLength: limits.maxSeqLen }) }), {
      minItems: 1, maxItems: limits.maxExamples, description: 'Same-length input/target strings; the model maps each input character to the target character',
    }),
  }, { description: 'Sequence to sequence of the same length (the "hello" -> "elloh" tutorial)' })
  const text = StrictObject({
    type: Type.Literal('text'),
    text: Type.String({ minLength: 2, maxLength: limits.maxDatasetChars }),
    seq_len: Type.Integer({ minimum: 1, maximum: limits.maxSeqLen, default: defaultWithin(32, limits.maxSeqLen), description: 'Steps of backpropagation through time' }),
  }, { description: 'Next-character language model; predict continues a prompt' })
  const series = StrictObject({
    type: Type.Literal('series'),
    // One array whose items are numbers or rows (not a union of two arrays): a too-long
    // series then fails `maxItems` by name instead of "does not match any allowed form".
    // Mixed numbers and rows pass here and are rejected as invalid_data by the task.
    series: Type.Array(Type.Union([Type.Number(), Type.Array(Type.Number(), { minItems: 1, maxItems: 64 })]), {
      minItems: 2, maxItems: limits.maxSeriesPoints, description: 'Values in time order; rows of numbers for a multivariate series',
    }),
    window: Type.Integer({ minimum: 1, maximum: limits.maxSeqLen, default: defaultWithin(20, limits.maxSeqLen), description: 'Past values the model reads' }),
    horizon: Type.Integer({ minimum: 1, maximum: limits.maxPredictLength, default: 1, description: 'Values predict returns (fed back one at a time)' }),
  }, { description: 'Time-series forecasting' })
  const classes = StrictObject({
    type: Type.Literal('classes'),
    examples: Type.Array(StrictObject({ input: sequence, label: Type.String({ minLength: 1, maxLength: 200 }) }), {
      minItems: 2, maxItems: limits.maxExamples,
    }),
  }, { description: 'Sequence classification; predict returns a label and probabilities' })
  return TaggedUnion('type', [pairs, text, series, classes], { examples: [TUTORIAL_JOB.data] })
}

const MODEL_NAME_PATTERN = '[A-Za-z0-9][A-Za-z0-9._-]*'

/** training.init_from: a model reference in either form; stored jobs show the resolved object. */
const initFromSchema = Type.Union([
  Type.String({ minLength: 1, maxLength: 165, pattern: `^${MODEL_NAME_PATTERN}(@${ALIAS_PATTERN.slice(1, -1)})?$`, description: '`name` (its highest version) or `name@alias`' }),
  StrictObject({
    model: Type.String({ minLength: 1, maxLength: 100, pattern: `^${MODEL_NAME_PATTERN}$` }),
    version: Type.Integer({ minimum: 1, maximum: 2147483647 }),
  }, { description: 'A pinned version' }),
], {
  description: 'Fine-tune: start from the weights of a model version instead of the seeded init. The architecture (model.type, hidden_size, num_layers, bidirectional, proj_size, nonlinearity) and the task must match it, and the data must fit its vocabulary, labels or series features (the job keeps them, and the series normalisation). Resolved when the job is submitted: the job shows `{model, version}`.',
  examples: ['greeter@production', { model: 'greeter', version: 2 }],
})

export function trainingSchema(limits: Limits) {
  return StrictObject({
    epochs: Type.Integer({ minimum: 1, maximum: limits.maxEpochs, default: defaultWithin(100, limits.maxEpochs) }),
    optimizer: Type.Enum([...OPTIMIZER_NAMES], { default: 'adam' }),
    learning_rate: Type.Number({ exclusiveMinimum: 0, maximum: 10, default: 0.01 }),
    batch_size: Type.Integer({ minimum: 1, maximum: 4096, default: 32 }),
    seed: Type.Integer({ minimum: 0, maximum: 4294967295, default: 0, description: 'Fixes initial weights, shuffling and dropout: same seed, same losses' }),
    clip_grad_norm: Nullable(Type.Number({ exclusiveMinimum: 0 }), { default: null, description: 'Max L2 norm of all gradients, or null' }),
    validation_split: Type.Number({ minimum: 0, maximum: 0.5, default: 0, description: 'Fraction of the data held out; adds val_loss to every epoch' }),
    checkpoint_every: Type.Integer({ minimum: 1, default: 10, description: 'Epochs between checkpoints (one is always written at the end)' }),
    max_runtime_seconds: Type.Integer({ minimum: 1, maximum: 7 * 24 * 3600, default: 3600 }),
    carry_hidden: Type.Boolean({ default: false, description: "The tutorial's trick: the final hidden state of an epoch starts the next one (disables shuffling)" }),
    shuffle: Type.Boolean({ default: true }),
    weight_decay: Type.Number({ minimum: 0, maximum: 1, default: 0 }),
    momentum: Type.Number({ minimum: 0, exclusiveMaximum: 1, default: 0, description: 'sgd and rmsprop' }),
    lr_scheduler: Type.Optional(lrSchedulerSchema(1e9)),
    early_stopping: Type.Optional(earlyStoppingSchema(limits.maxEpochs)),
    init_from: Type.Optional(initFromSchema),
  }, { default: {}, examples: [TUTORIAL_JOB.training] })
}

export function createJobBody(limits: Limits) {
  return StrictObject({
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', description: 'Model name (default: <model.type>-<data.type>); GET /predict?model=<name> serves the newest succeeded job of that name' })),
    model: modelSchema(limits),
    data: dataSchema(limits),
    training: Type.Optional(trainingSchema(limits)),
  }, { examples: [TUTORIAL_JOB] })
}

export type CreateJobBody = Static<ReturnType<typeof createJobBody>>

export const JobStatusSchema = Type.Enum([...JOB_STATUSES])

const Timestamp = Type.String({ format: 'date-time', examples: ['2026-11-27T16:20:00.000Z'] })

const count = (description: string) => Type.Integer({ minimum: 0, description })

/** What a job shows of its dataset: sizes by kind, never the data itself. */
export const DataSummarySchema = TaggedUnion('type', [
  Type.Object({ type: Type.Literal('pairs'), pairs: count('Input/target pairs'), characters: count('Input characters in all pairs') }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal('text'), characters: count('Characters of text'), seq_len: count('Steps of backpropagation through time') }, { additionalProperties: false }),
  Type.Object({
    type: Type.Literal('series'), points: count('Time steps'), features: count('Values per time step'),
    window: count('Past values the model reads'), horizon: count('Values a prediction returns'),
  }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal('classes'), examples: count('Labelled sequences'), labels: count('Distinct labels') }, { additionalProperties: false }),
], { description: 'A summary of the dataset (never the data itself)' })

/** GET /jobs/{id} `storage_wait`: what a running job waits for (src/jobs/persist-retry.ts). */
const StorageWaitSchema = Type.Object({
  since: Timestamp,
  code: Type.Union([Type.Literal('storage_full'), Type.Literal('storage_unavailable')], { description: 'Why: the disk is full, or the database cannot take writes (read-only, I/O errors, unreachable)' }),
  reason: Type.String({ examples: ['the disk holding the database is full (SQLITE_FULL)'] }),
  pending: Type.String({ description: 'What the job waits to save', examples: ['loss of epoch 12'] }),
  what_to_do: Type.String({ examples: ['Free space on that volume (or grow it); writes are accepted again without a restart, ...'] }),
  fails_at: Timestamp,
})

/**
 * The job resource, registered as the `Job` component. `model` and `training` are the
 * request's own schemas as stored: every field present with its default filled in, so a
 * field another author adds to the request appears in responses by itself.
 */
export function jobResponse(limits: Limits) {
  return Type.Object({
    id: Type.String({ examples: ['4f6c1c8e-5c1b-4b55-9a55-5a6c1f0f2b7a'] }),
    name: Type.String(),
    status: JobStatusSchema,
    model: storedShape(modelSchema(limits), 'The model settings with defaults filled in'),
    training: storedShape(trainingSchema(limits), 'The training settings with defaults filled in'),
    data: DataSummarySchema,
    progress: Type.Object({ epoch: Type.Integer(), epochs: Type.Integer() }),
    stopped_early: Type.Boolean({ description: 'training.early_stopping ended the job (succeeded) before its epoch limit, after progress.epoch' }),
    cancel_requested: Type.Boolean({ description: 'A cancel was asked for: a running job stops within the step under way, then ends `cancelled`' }),
    loss: Nullable(Type.Number(), { description: 'Loss of the last finished epoch' }),
    best_loss: Nullable(Type.Number(), { description: 'Lowest loss so far (validation loss when there is a split)' }),
    error: Nullable(Type.Object({
      code: Type.String({
        examples: ['nan_loss'],
        description: `Why the job failed: ${Object.entries(JOB_ERROR_CATALOGUE).map(([code, meaning]) => `\`${code}\` (${meaning})`).join('; ')}.`,
      }),
      message: Type.String(),
    })),
    attempt: Type.Integer({
      description: 'Runs that count toward the attempt limit (3): every start, except a run handed back by a graceful shutdown and ' +
        'a run lost with its process (kill -9, crash, lapsed lease) after it saved a newer checkpoint than the one it started from. ' +
        'So a job survives any number of restarts while it makes progress; it fails as `stalled` after 3 lost runs without progress, ' +
        'and a run whose training throws counts each time (`training_error` after 3).',
    }),
    checkpoint: Nullable(Type.Object({ epoch: Type.Integer(), created_at: Timestamp })),
    storage_wait: Nullable(StorageWaitSchema, {
      description: 'Set while the job (`running`) waits for its database to take its progress again: the disk is full, or the database is read-only or unreachable. ' +
        'Training holds at the next epoch boundary, nothing is lost, and the job resumes by itself once writes work again; it fails ' +
        '(`storage_full` / `storage_error`) if they do not by `fails_at` (STORAGE_PAUSE_MAX_MS). Shown by the node training the job; null otherwise.',
    }),
    created_at: Timestamp,
    started_at: Nullable(Timestamp),
    finished_at: Nullable(Timestamp),
  }, {
    $id: 'Job',
    title: 'Job',
    examples: [{
      id: '4f6c1c8e-5c1b-4b55-9a55-5a6c1f0f2b7a', name: 'greeter', status: 'succeeded',
      model: { ...TUTORIAL_JOB.model, proj_size: 0, dtype: DEFAULT_DTYPE },
      training: { ...TUTORIAL_JOB.training, carry_hidden: false, shuffle: true, weight_decay: 0, momentum: 0 },
      data: { type: 'pairs', pairs: 1, characters: 5 }, progress: { epoch: 200, epochs: 200 }, stopped_early: false, cancel_requested: false, loss: 0.0012, best_loss: 0.0012,
      error: null, attempt: 1, checkpoint: { epoch: 200, created_at: '2026-11-27T16:20:01.000Z' }, storage_wait: null,
      created_at: '2026-11-27T16:20:00.000Z', started_at: '2026-11-27T16:20:00.100Z', finished_at: '2026-11-27T16:20:01.000Z',
    }],
  })
}

/**
 * Defaults of the stored settings, for jobs stored before a field existed. Not always the
 * request's default: a job stored without `dtype` trained (and resumes) in float64.
 */
export function storedDefaults(limits: Limits) {
  return { model: { ...defaultsOf(modelSchema(limits)), dtype: 'float64' }, training: defaultsOf(trainingSchema(limits)) }
}

export type JobBody = Static<ReturnType<typeof jobResponse>>

export const JobRef = Type.Unsafe<JobBody>({ $ref: 'Job' })

export const JobIdParams = StrictObject({ id: Type.String({ minLength: 1, maxLength: 100, description: 'Job id' }) })

export const ListJobsQuery = StrictObject({
  status: Type.Optional(JobStatusSchema),
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'next_cursor of the previous page' })),
})

export const JobListResponse = Type.Object({
  items: Type.Array(JobRef),
  next_cursor: Nullable(Type.String(), { description: 'Pass as cursor for the next page; null on the last page' }),
})

/** Loss points in one page of GET /jobs/{id}/losses (and its default page size). */
export const MAX_LOSS_POINTS_PER_PAGE = 10_000

export const LossesQuery = StrictObject({
  format: Type.Union([Type.Literal('json'), Type.Literal('csv'), Type.Literal('svg')], { default: 'json', description: 'json, csv (`epoch,loss,val_loss,at,lr` and a column per metric), or svg (a chart of every epoch; limit and cursor do not apply)' }),
  limit: Type.Integer({ minimum: 1, maximum: MAX_LOSS_POINTS_PER_PAGE, default: MAX_LOSS_POINTS_PER_PAGE, description: 'Points per page' }),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 20, description: 'next_cursor of the previous page (JSON), or the cursor of the Link header (CSV)' })),
})

export const LossPointSchema = Type.Object({
  epoch: Type.Integer({ minimum: 1 }),
  loss: Type.Number(),
  val_loss: Type.Optional(Type.Number()),
  lr: Type.Optional(Type.Number({ description: 'Learning rate the epoch started with' })),
  metrics: Type.Optional(Type.Record(Type.String(), Type.Number(), {
    description: 'Task metrics on the training pass, and val_ ones on the validation split: pairs accuracy and sequence_accuracy, classes accuracy, text perplexity and bpc, series mae and rmse (original units)',
  })),
  at: Timestamp,
})

export const LossesResponse = Type.Object({
  job: Type.String(),
  losses: Type.Array(LossPointSchema),
  next_cursor: Nullable(Type.String(), { description: 'Pass as cursor for the next page; null on the last page' }),
}, { examples: [{ job: '4f6c1c8e-5c1b-4b55-9a55-5a6c1f0f2b7a', losses: [{ epoch: 1, loss: 1.62, lr: 0.1, metrics: { accuracy: 0.4, sequence_accuracy: 0 }, at: '2026-11-27T16:20:00.200Z' }], next_cursor: null }] })

export const LossesCsv = Type.String({
  description: 'Header `epoch,loss,val_loss,at,lr` and one column per metric (by name), then one row per epoch (val_loss empty without a validation split)',
  examples: ['epoch,loss,val_loss,at,lr,accuracy,sequence_accuracy\n1,1.62,,2026-11-27T16:20:00.200Z,0.1,0.4,0\n'],
})

export const LossesSvg = Type.String({
  description: 'A chart of the training and validation loss per epoch, with epoch ticks, the loss and its unit, and the early-stopping point',
})

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Same key and body -> the same job; same key, different body -> 422' })),
})

export const StateDictResponse = Type.Record(Type.String(), Type.Object({
  shape: Type.Array(Type.Integer()),
  data: Type.Array(Type.Number()),
}), { description: 'PyTorch state_dict names (rnn.weight_ih_l0, ..., fc.weight, fc.bias), row-major data' })
