import type { SequenceModelConfig } from '../engine/model.js'
import { ServingError } from './errors.js'

/**
 * Cost-aware admission: a prediction's work is estimated from the model's shape and the
 * request's rows before anything runs, and a request over budget is refused at once (400
 * `predict_too_costly`) instead of occupying a worker for minutes. The same estimate bounds
 * the batches the micro-batcher forms, so no batch costs more than one admitted request may.
 *
 * Cost unit: one multiply-add of the forward pass, with each gate's nonlinearity counted as
 * ELEMENTWISE_COST of them (exp/tanh dominate the small models). PREDICT_MAX_COST's default
 * is calibrated from `npm run bench:predict-cost` on the 2-core reference machine.
 */

const ELEMENTWISE_COST = 8
/**
 * Fixed work per row per step (sampling, bookkeeping) and per batched forward step (calls,
 * buffer setup): what dominates tiny models (an 8-unit RNN costs ~7,000 units a step, not 300).
 */
const ROW_STEP_OVERHEAD = 2000
const FORWARD_STEP_OVERHEAD = 5000

/** One row's shape: sequential forward steps and how many of them read the prompt at once. */
export interface RowShape {
  /** Steps the recurrent stack runs for this row, prompt included. */
  steps: number
  /** Steps of the first (longest, all-at-once) forward: its activations are held in memory together. */
  promptSteps: number
  /** Evaluations of the output layer. */
  heads: number
}

export interface CostModel {
  /** Units per row per recurrent step. */
  stepCost: number
  /** Units per evaluation of the output layer. */
  headCost: number
  /** Bytes of activations per row per step of a forward. */
  stepBytes: number
}

export interface Estimate {
  cost: number
  memoryBytes: number
}

export interface Budget {
  /** PREDICT_MAX_COST */
  maxCost: number
  /** PREDICT_MAX_MEMORY_BYTES */
  maxMemoryBytes: number
}

/** The per-step cost and memory of a model, from its configuration. */
export function costModel(config: SequenceModelConfig): CostModel {
  const D = config.bidirectional ? 2 : 1
  const gates = config.mode === 'lstm' ? 4 : config.mode === 'gru' ? 3 : 1
  const H = config.hiddenSize
  const P = config.projSize
  const Hout = P > 0 ? P : H
  const G = gates * H
  let stepCost = 0
  let stepBytes = 0
  for (let l = 0; l < config.numLayers; l++) {
    // A one-hot first layer gathers a column of W_ih instead of multiplying.
    const input = l === 0 ? (config.oneHot ? 1 : config.inputSize) : D * Hout
    stepCost += D * (G * (input + Hout + ELEMENTWISE_COST) + H * P)
    // Per layer: outputs and three more buffers of the layer's width; per direction: gate
    // pre-activations and their gradients, hidden slots and the LSTM's cell buffers.
    stepBytes += 8 * (4 * D * Hout + D * (2 * G + Hout + 4 * H))
  }
  const features = D * Hout
  return { stepCost, headCost: features * config.outputSize, stepBytes: stepBytes + 8 * (config.outputSize + config.inputSize) }
}

/** Work and memory of running `rows` as one batch (padded to the longest row). */
export function estimate(model: CostModel, rows: readonly RowShape[]): Estimate {
  let steps = 0
  let promptSteps = 0
  let heads = 0
  for (const row of rows) {
    steps = Math.max(steps, row.steps)
    promptSteps = Math.max(promptSteps, row.promptSteps)
    heads = Math.max(heads, row.heads)
  }
  const B = rows.length
  const cost = B * (steps * (model.stepCost + ROW_STEP_OVERHEAD) + heads * model.headCost) + steps * FORWARD_STEP_OVERHEAD
  return { cost, memoryBytes: B * promptSteps * model.stepBytes }
}

export function withinBudget(e: Estimate, budget: Budget): boolean {
  return e.cost <= budget.maxCost && e.memoryBytes <= budget.maxMemoryBytes
}

const MIB = 1024 * 1024

/** Refuses a request over budget with a message that says what to shorten. */
export function admit(e: Estimate, budget: Budget): void {
  if (withinBudget(e, budget)) return
  const details = { estimated_cost: Math.round(e.cost), max_cost: budget.maxCost, estimated_memory_bytes: Math.round(e.memoryBytes), max_memory_bytes: budget.maxMemoryBytes }
  const over = e.cost > budget.maxCost
    ? `an estimated cost of ${formatUnits(e.cost)} units, over the budget of ${formatUnits(budget.maxCost)} (PREDICT_MAX_COST)`
    : `an estimated ${(e.memoryBytes / MIB).toFixed(1)} MiB of activations, over the budget of ${(budget.maxMemoryBytes / MIB).toFixed(1)} MiB (PREDICT_MAX_MEMORY_BYTES)`
  throw new ServingError('predict_too_costly', `This prediction is too costly for this model: ${over}; send a shorter input, a smaller length or horizon, or fewer inputs per request`, details)
}

function formatUnits(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)}e9` : n >= 1e6 ? `${(n / 1e6).toFixed(2)}e6` : String(Math.round(n))
}
