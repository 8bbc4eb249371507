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
  settled: boolean
  timer: NodeJS.Timeout
  resolve(outputs: InferenceOutputs): void
  reject(error: Error): void
}

export interface MicroBatcherOptions {
  /** PREDICT_BATCH_ROWS: rows merged into one forward (a larger single request still runs whole). */
  maxRows: number
  /**
   * PREDICT_BATCH_DELAY_MS: how long the oldest request may be held while a worker is idle,
   * waiting for the company its model recently had (see `take`).
   */
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

/** A model's rows in the service: waiting, running, and the most at once since its last batch. */
interface ModelLoad {
  queued: number
  running: number
  peak: number
}

/**
 * Dynamic micro-batching (Triton's dynamic batcher, TorchServe's batch_size/max_batch_delay):
 * requests wait in one FIFO; when a worker is free it takes the oldest request together with
 * every other waiting request for the same model, up to PREDICT_BATCH_ROWS rows and the cost
 * budget, as one batched forward, and the outputs are split back per request.
 *
 * Under load requests accumulate while the workers are busy, but not all at once: when a
 * batch of 31 answers, its 31 clients send their next requests over the next few
 * milliseconds, and a worker taking the first arrival at once would run a batch of 1-3 for
 * the whole generation while the rest wait for it. Worse, the clients split into two groups
 * that alternate for good: those of the running batch come back while the others' batch
 * runs (measured at 32 connections: batches alternated between <= 8 and 17-32 rows). So a
 * model remembers how many of its rows were in the service at once since its previous
 * batch; while fewer than that (less those already running) are waiting, a free worker
 * holds the queue up to PREDICT_BATCH_DELAY_MS for the rest, and the two groups merge. A
 * lone client (one row in the service) is never held; when the load drops, the queue
 * waits the delay once and the model's expectation follows the load down.
 */
export class MicroBatcher implements BatchSource {
  private queue: Pending[] = []
  private readonly loads = new Map<string, ModelLoad>()
  private wakeTimer: NodeJS.Timeout | null = null
  /** Date.now() when a free worker first found the queue's head short of company (null: not holding). */
  private heldSince: number | null = null
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
        settled: false,
        timer: setTimeout(() => this.expire(pending), Math.max(0, request.deadline - Date.now())),
        resolve: (outputs) => this.settle(pending, () => resolve(outputs)),
        reject: (error) => this.settle(pending, () => reject(error)),
      }
      this.queue.push(pending)
      const load = this.load(request.jobId)
      load.queued += request.shapes.length
      load.peak = Math.max(load.peak, load.queued + load.running)
      this.wakeUp()
    })
  }

  take(): InferenceBatch | undefined {
    const first = this.queue[0]
    if (!first) {
      this.heldSince = null
      return undefined
    }
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
    const load = this.load(first.jobId)
    const expected = Math.min(maxRows, load.peak - load.running)
    if (shapes.length < expected && delayMs > 0) {
      const now = Date.now()
      this.heldSince ??= now
      const waitMs = this.heldSince + delayMs - now
      if (waitMs > 0) {
        this.wakeTimer ??= setTimeout(() => { this.wakeTimer = null; this.wakeUp() }, waitMs).unref()
        return undefined
      }
    }
    this.heldSince = null
    if (this.wakeTimer) {
      clearTimeout(this.wakeTimer)
      this.wakeTimer = null
    }
    const taken = new Set(members)
    this.queue = this.queue.filter((p) => !taken.has(p))
    const rows = shapes.length
    load.queued -= rows
    load.running += rows
    load.peak = load.queued + load.running
    this.options.onBatch?.(members.length, rows)
    const counts = members.map((m) => m.shapes.length)
    let done = false
    const finished = () => {
      if (done) return
      done = true
      load.running -= rows
      if (load.queued + load.running === 0 && load.peak <= 1) this.loads.delete(first.jobId)
    }
    return {
      jobId: first.jobId,
      rows: mergeRows(members.map((m) => m.rows)),
      deadline: Math.max(...members.map((m) => m.deadline)),
      resolve: (outputs) => {
        finished()
        splitOutputs(outputs, counts).forEach((part, i) => members[i].resolve(part))
      },
      reject: (error) => {
        finished()
        members.forEach((m) => m.reject(error instanceof InferenceTimeoutError ? timeoutError() : error))
      },
    }
  }

  private load(jobId: string): ModelLoad {
    let load = this.loads.get(jobId)
    if (!load) {
      load = { queued: 0, running: 0, peak: 0 }
      this.loads.set(jobId, load)
    }
    return load
  }

  private expire(pending: Pending): void {
    const index = this.queue.indexOf(pending)
    if (index >= 0) {
      this.queue.splice(index, 1)
      this.load(pending.jobId).queued -= pending.shapes.length
    }
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
