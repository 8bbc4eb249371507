import { type BatchSource, type InferenceBatch, InferenceTimeoutError } from '../pool/inference-pool.js'
import type { InferenceOutputs, InferenceRows } from '../pool/inference-protocol.js'
import { type Budget, type CostModel, type RowShape, estimate, withinBudget } from './admission.js'
import { ServingError } from './errors.js'

/** One admitted request on its way to a worker. */
export interface BatchRequest {
  jobId: string
  rows: InferenceRows
  shapes: RowShape[]
  model: CostModel
  /** Date.now() at which the request answers 504 predict_timeout. */
  deadline: number
}

interface Pending extends BatchRequest {
  enqueuedAt: number
  settled: boolean
  timer: NodeJS.Timeout
  resolve(outputs: InferenceOutputs): void
  reject(error: Error): void
}

export interface MicroBatcherOptions {
  /** PREDICT_BATCH_ROWS: rows merged into one forward (a larger single request still runs whole). */
  maxRows: number
  /** PREDICT_BATCH_DELAY_MS: how long the oldest request may wait for company while a worker is idle. */
  delayMs: number
  /** PREDICT_QUEUE_LIMIT: requests waiting for a worker; more get 503 overloaded. */
  maxPending: number
  /** No batch costs more than one admitted request may. */
  budget: Budget
  /** Called for every batch started: its requests and rows (metrics). */
  onBatch?(requests: number, rows: number): void
}

/** Seconds an overloaded client is told to wait: the queue drains in about that time at budget-sized batches. */
export const OVERLOADED_RETRY_AFTER_S = 1

/**
 * Dynamic micro-batching (Triton's dynamic batcher, TorchServe's batch_size/max_batch_delay):
 * requests wait in one FIFO; when a worker is free it takes the oldest request together with
 * every other waiting request for the same model, up to PREDICT_BATCH_ROWS rows and the cost
 * budget, as one batched forward, and the outputs are split back per request. Under load,
 * requests accumulate while the workers are busy, so batches form without any added delay;
 * PREDICT_BATCH_DELAY_MS > 0 also holds a lone request that long for company.
 */
export class MicroBatcher implements BatchSource {
  private queue: Pending[] = []
  private wakeTimer: NodeJS.Timeout | null = null
  private wakeUp: () => void = () => {}

  constructor(private readonly options: MicroBatcherOptions) {}

  /** The pool to wake when work arrives. */
  attach(wake: () => void): void {
    this.wakeUp = wake
  }

  /** Requests waiting for a worker. */
  get depth(): number {
    return this.queue.length
  }

  submit(request: BatchRequest): Promise<InferenceOutputs> {
    if (this.queue.length >= this.options.maxPending) {
      throw new ServingError('overloaded', `The prediction queue is full (${this.queue.length} requests waiting, PREDICT_QUEUE_LIMIT=${this.options.maxPending}); retry in ${OVERLOADED_RETRY_AFTER_S} s`, { queued: this.queue.length, queue_limit: this.options.maxPending }, OVERLOADED_RETRY_AFTER_S)
    }
    return new Promise<InferenceOutputs>((resolve, reject) => {
      const pending: Pending = {
        ...request,
        enqueuedAt: Date.now(),
        settled: false,
        timer: setTimeout(() => this.expire(pending), Math.max(0, request.deadline - Date.now())),
        resolve: (outputs) => this.settle(pending, () => resolve(outputs)),
        reject: (error) => this.settle(pending, () => reject(error)),
      }
      this.queue.push(pending)
      this.wakeUp()
    })
  }

  take(): InferenceBatch | undefined {
    const first = this.queue[0]
    if (!first) return undefined
    const { maxRows, delayMs, budget } = this.options
    const members: Pending[] = [first]
    const shapes = [...first.shapes]
    for (let i = 1; i < this.queue.length && shapes.length < maxRows; i++) {
      const candidate = this.queue[i]
      if (candidate.jobId !== first.jobId || shapes.length + candidate.shapes.length > maxRows) continue
      if (!withinBudget(estimate(first.model, [...shapes, ...candidate.shapes]), budget)) continue
      members.push(candidate)
      shapes.push(...candidate.shapes)
    }
    const waitMs = first.enqueuedAt + delayMs - Date.now()
    if (shapes.length < maxRows && waitMs > 0) {
      if (!this.wakeTimer) this.wakeTimer = setTimeout(() => { this.wakeTimer = null; this.wakeUp() }, waitMs)
      return undefined
    }
    const taken = new Set(members)
    this.queue = this.queue.filter((p) => !taken.has(p))
    this.options.onBatch?.(members.length, shapes.length)
    const counts = members.map((m) => m.shapes.length)
    return {
      jobId: first.jobId,
      rows: mergeRows(members.map((m) => m.rows)),
      deadline: Math.max(...members.map((m) => m.deadline)),
      resolve: (outputs) => splitOutputs(outputs, counts).forEach((part, i) => members[i].resolve(part)),
      reject: (error) => members.forEach((m) => m.reject(error instanceof InferenceTimeoutError ? timeoutError() : error)),
    }
  }

  private expire(pending: Pending): void {
    const index = this.queue.indexOf(pending)
    if (index >= 0) this.queue.splice(index, 1)
    pending.reject(timeoutError())
  }

  private settle(pending: Pending, settle: () => void): void {
    if (pending.settled) return
    pending.settled = true
    clearTimeout(pending.timer)
    settle()
  }
}

function timeoutError(): ServingError {
  return new ServingError('predict_timeout', 'The prediction did not finish within PREDICT_TIMEOUT_MS; its computation was stopped. Retry later, or send a cheaper request')
}

/** Concatenates the rows of several requests for one model (all of the same task). */
export function mergeRows(parts: InferenceRows[]): InferenceRows {
  if (parts.length === 1) return parts[0]
  const first = parts[0]
  switch (first.kind) {
    case 'pairs':
    case 'classes':
      return { kind: first.kind, inputs: parts.flatMap((p) => (p as typeof first).inputs) }
    case 'text':
      return { kind: 'text', prompts: parts.flatMap((p) => (p as typeof first).prompts), options: parts.flatMap((p) => (p as typeof first).options) }
    case 'series':
      return { kind: 'series', histories: parts.flatMap((p) => (p as typeof first).histories), horizons: parts.flatMap((p) => (p as typeof first).horizons) }
  }
}

/** Cuts a batch's outputs back into the requests' parts (`counts` rows each, in order). */
export function splitOutputs(outputs: InferenceOutputs, counts: number[]): InferenceOutputs[] {
  let start = 0
  return counts.map((count) => {
    const end = start + count
    const from = start
    start = end
    switch (outputs.kind) {
      case 'pairs':
      case 'text':
        return { kind: outputs.kind, outputs: outputs.outputs.slice(from, end) }
      case 'classes':
        return { kind: 'classes', probabilities: outputs.probabilities.slice(from, end) }
      case 'series':
        return { kind: 'series', forecasts: outputs.forecasts.slice(from, end) }
    }
  })
}
