import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import { MessageChannel } from 'node:worker_threads'
import type { Logger } from 'pino'
import type { JobSpec } from '../engine/tasks/spec.js'
import { CHECKPOINT_FORMAT } from '../engine/tasks/checkpoint.js'
import { STOP_CANCEL, STOP_NONE, STOP_SHUTDOWN, type WorkerMessage } from '../pool/protocol.js'
import { TrainingPool } from '../pool/training-pool.js'
import { InitFromMissingError, loadInitWeights } from './init-from.js'
import type { Storage } from '../storage/storage.js'
import { leaseOwner, type JobRecord, type NewCheckpoint, type ReapedJob } from '../storage/types.js'

export interface JobRunnerOptions {
  storage: Storage
  /** This node's id in leases (NODE_ID); defaults to the hostname. */
  node?: string
  /** Worker threads, i.e. jobs trained at once. */
  workers: number
  /** WORKER_NICE: how much lower than the event loop the training threads run. */
  nice?: number
  leaseTtlMs: number
  heartbeatMs: number
  /** How often the queue is polled besides the wake-ups after each submission. */
  pollMs?: number
  maxAttempts?: number
  logger: Logger
  /** Observes lifecycle events (metrics). */
  events?: Partial<JobRunnerEvents>
}

/** Several observers as one (metrics, event-stream wake-ups). */
export function combineRunnerEvents(...observers: Partial<JobRunnerEvents>[]): Partial<JobRunnerEvents> {
  return {
    started: (job, epoch) => observers.forEach((o) => o.started?.(job, epoch)),
    epoch: (jobId, epoch, tokens) => observers.forEach((o) => o.epoch?.(jobId, epoch, tokens)),
    finished: (jobId, outcome) => observers.forEach((o) => o.finished?.(jobId, outcome)),
  }
}

export interface JobRunnerEvents {
  started(job: JobRecord, resumedFromEpoch: number): void
  /** `tokens`: target values trained on in the epoch (characters, series values or labels). */
  epoch(jobId: string, epoch: number, tokens: number): void
  finished(jobId: string, status: 'succeeded' | 'failed' | 'cancelled' | 'requeued'): void
}

interface ActiveJob {
  id: string
  attempt: number
  stopFlag: Int32Array
  log: Logger
  /** Last completed epoch, so every lifecycle log line says where training stood. */
  epoch: number
  /** Final checkpoint held back so it is written in the same transaction as the status. */
  finalCheckpoint: NewCheckpoint | null
  done: Promise<void>
}

/**
 * Owns the training lifecycle: claims queued jobs (oldest first) under a lease, trains them
 * on the worker pool, persists every epoch's loss and the checkpoints as they arrive,
 * renews leases by heartbeat and returns lapsed jobs (a dead process) to the queue.
 */
export class JobRunner {
  /** Identifies this process in leases: this machine, and this process on it. */
  readonly owner: string
  private readonly active = new Map<string, ActiveJob>()
  /** The claim loop in flight (one at a time, so claims never outnumber free workers). */
  private filling: Promise<void> | null = null
  private refill = false
  /** A heartbeat still waiting for the database skips the next tick instead of piling up. */
  private beating = false
  /** Jobs claimed but never started whose return to the queue failed. */
  private readonly unreleased = new Set<string>()
  /** Stops the wake-ups on jobs queued by other processes (PostgreSQL NOTIFY). */
  private unwatch: Promise<() => Promise<void>> | null = null
  private heartbeatTimer: NodeJS.Timeout | null = null
  private pollTimer: NodeJS.Timeout | null = null
  private stopping = false
  private pool: TrainingPool | null = null
  private readonly maxAttempts: number

  constructor(private readonly options: JobRunnerOptions) {
    this.maxAttempts = options.maxAttempts ?? 3
    this.owner = leaseOwner(options.node ?? hostname(), `${process.pid}:${randomUUID().slice(0, 8)}`)
  }

  get activeJobs(): number {
    return this.active.size
  }

  /** True once started and until stopped: the worker pool is up. */
  get running(): boolean {
    return this.pool !== null && !this.stopping
  }

  /** Starts the worker threads, the heartbeat and the queue polling. */
  start(): void {
    if (this.pool) return
    this.stopping = false
    this.pool = new TrainingPool(this.options.workers, this.options.nice)
    const { heartbeatMs, pollMs = 1000 } = this.options
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), heartbeatMs).unref()
    this.pollTimer = setInterval(() => this.fill(), pollMs).unref()
    // Idle workers wake when any node queues a job; the poll above is the fallback.
    this.unwatch = this.options.storage.watchQueue(() => this.wake()).catch((err: unknown) => {
      this.options.logger.warn({ err }, 'cannot listen for queued jobs; polling only')
      return async () => undefined
    })
    this.reap().catch((err: unknown) => this.options.logger.error({ err }, 'reaping lapsed leases failed'))
    this.fill()
  }

  /** Claims work now (called after a submission). */
  wake(): void {
    setImmediate(() => this.fill())
  }

  /** Asks a job running in this process to stop at its next step boundary. */
  cancel(jobId: string): void {
    const job = this.active.get(jobId)
    if (job) Atomics.store(job.stopFlag, 0, STOP_CANCEL)
  }

  /**
   * Graceful stop: no new claims; running jobs checkpoint their last finished epoch and go
   * back to the queue (without using up an attempt). Resolves when they have all stopped.
   */
  async stop(): Promise<void> {
    this.stopping = true
    if (this.pollTimer) clearInterval(this.pollTimer)
    this.pollTimer = null
    // Stop the jobs first: every await below lets them train on.
    for (const job of this.active.values()) Atomics.compareExchange(job.stopFlag, 0, STOP_NONE, STOP_SHUTDOWN)
    // A claim in flight either launches its job (stopped here too) or hands it back.
    await this.filling
    for (const job of this.active.values()) Atomics.compareExchange(job.stopFlag, 0, STOP_NONE, STOP_SHUTDOWN)
    const unwatch = this.unwatch
    this.unwatch = null
    if (unwatch) await (await unwatch)()
    // The heartbeat goes on until the jobs have stopped: a step can outlast the lease, and a
    // lapsed lease would let another process take the job over and cost it an attempt.
    await Promise.allSettled([...this.active.values()].map((j) => j.done))
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer)
    this.heartbeatTimer = null
    await this.pool?.close()
    this.pool = null
  }

  /** Gives a claimed job back to the queue; retried on every heartbeat until the database takes it. */
  private async release(jobId: string): Promise<void> {
    try {
      await this.options.storage.jobs.requeue(jobId, this.owner, { countAttempt: false }, Date.now())
      this.unreleased.delete(jobId)
    } catch (err) {
      this.unreleased.add(jobId)
      this.options.logger.error({ err, jobId }, 'could not return the job to the queue; will retry')
    }
  }

  /**
   * Last resort of a shutdown that ran out of time: every job still training here goes back
   * to the queue at once (no attempt used; it resumes from its last saved checkpoint and the
   * epochs after it are trained again). Returns how many were requeued.
   */
  async abandon(): Promise<number> {
    let requeued = 0
    for (const job of this.active.values()) {
      try {
        if (await this.options.storage.jobs.requeue(job.id, this.owner, { countAttempt: false }, Date.now())) requeued++
      } catch (err) {
        job.log.error({ err, epoch: job.epoch }, 'could not requeue the job; its lease will lapse instead')
      }
    }
    return requeued
  }

  private async heartbeat(): Promise<void> {
    if (this.beating) return
    this.beating = true
    const { storage, leaseTtlMs, logger } = this.options
    try {
      for (const jobId of [...this.unreleased]) await this.release(jobId)
      await storage.jobs.renewLeases(this.owner, leaseTtlMs, Date.now())
      // A cancel recorded by another process (or before this one noticed) still stops the job.
      for (const job of this.active.values()) {
        if (await storage.jobs.isCancelRequested(job.id)) Atomics.compareExchange(job.stopFlag, 0, STOP_NONE, STOP_CANCEL)
      }
      await this.reap()
      this.fill()
    } catch (err) {
      logger.error({ err }, 'heartbeat failed')
    } finally {
      this.beating = false
    }
  }

  private async reap(): Promise<void> {
    const { storage, logger } = this.options
    const { requeued, failed, cancelled } = await storage.jobs.reapExpiredLeases(Date.now(), this.maxAttempts)
    const fields = (job: ReapedJob) => ({ jobId: job.id, attempt: job.attempt, epoch: job.epoch })
    for (const job of requeued) logger.warn(fields(job), 'job lease lapsed; back in the queue to resume from its last checkpoint')
    for (const job of failed) logger.error(fields(job), `job lease lapsed ${this.maxAttempts} times; failed as stalled`)
    for (const job of cancelled) logger.info(fields(job), 'job lease lapsed after a cancel request; cancelled')
  }

  /** Claims jobs until every worker is busy or the queue is empty (in the background). */
  private fill(): void {
    if (this.stopping || !this.pool) return
    if (this.filling) {
      this.refill = true
      return
    }
    this.filling = this.claimWhileIdle().finally(() => {
      this.filling = null
      if (this.refill) {
        this.refill = false
        this.fill()
      }
    })
  }

  private async claimWhileIdle(): Promise<void> {
    const { storage, leaseTtlMs, workers, logger } = this.options
    try {
      while (!this.stopping && this.pool && this.active.size < workers) {
        const job = await storage.jobs.claimNext(this.owner, leaseTtlMs, Date.now())
        if (!job) return
        await this.launch(job)
      }
    } catch (err) {
      logger.error({ err }, 'claiming queued jobs failed')
    }
  }

  private async launch(job: JobRecord): Promise<void> {
    const { storage } = this.options
    const log = this.options.logger.child({ jobId: job.id, attempt: job.attempt })
    let resume
    let init: Uint8Array | null = null
    try {
      resume = await storage.resumeFromCheckpoint(job.id, this.owner, Date.now())
      // A fresh start of a fine-tuning job begins from the version it names (init-from.ts).
      if (resume && !resume.checkpoint) init = await loadInitWeights(storage, (job.spec as JobSpec).training)
    } catch (err) {
      if (err instanceof InitFromMissingError) return this.failUnstarted(job, log, 'init_from_missing', err.message)
      // Claimed but not started: hand it back, or the heartbeat would keep its lease forever.
      log.error({ err, epoch: job.progressEpoch }, 'could not prepare the job to run; returning it to the queue')
      await this.release(job.id)
      return
    }
    if (!resume) return
    if (this.stopping || !this.pool) {
      // Shutting down while the claim was in flight: the job goes back untouched.
      await this.release(job.id)
      return
    }
    const pool = this.pool
    const stopFlag = new Int32Array(new SharedArrayBuffer(4))
    const { port1, port2 } = new MessageChannel()
    let settle!: () => void
    const active: ActiveJob = {
      id: job.id, attempt: job.attempt, stopFlag, log, epoch: resume.progress.epoch, finalCheckpoint: null,
      done: new Promise<void>((resolve) => { settle = resolve }),
    }
    this.active.set(job.id, active)
    log.info({ epoch: resume.progress.epoch, resumed: resume.checkpoint !== undefined }, resume.checkpoint ? 'job resumed from checkpoint' : 'job started')
    this.options.events?.started?.(job, resume.progress.epoch)

    let finished = false
    const end = () => {
      if (!this.active.has(job.id)) return
      this.active.delete(job.id)
      port1.close()
      settle()
      this.fill()
    }
    // Messages are persisted one after another, in the order the worker sent them.
    let persisted = Promise.resolve()
    const enqueue = (step: () => Promise<void> | void) => {
      persisted = persisted.then(step).catch((err: unknown) => {
        log.error({ err, epoch: active.epoch }, 'could not record training progress')
        Atomics.store(stopFlag, 0, STOP_CANCEL)
      })
    }
    port1.on('message', (message: WorkerMessage) => {
      if (message.type === 'finished') finished = true
      enqueue(() => this.handle(active, message))
      if (message.type === 'finished') enqueue(end)
    })
    pool.run({
      jobId: job.id, attempt: job.attempt, spec: job.spec as JobSpec,
      checkpoint: resume.checkpoint ? new Uint8Array(resume.checkpoint.blob) : null, init, stopFlag, port: port2,
    }).then(() => {
      // Messages can trail the task's completion; give them a turn before deciding it vanished.
      setTimeout(() => {
        if (!finished) enqueue(() => this.failJob(active, 'training_error', 'the training worker stopped without reporting an outcome'))
        enqueue(end)
      }, 100)
    }, (err: Error) => {
      log.error({ err, epoch: active.epoch }, 'training worker crashed')
      enqueue(() => this.failJob(active, 'training_error', 'the training worker crashed; see the server log'))
      enqueue(end)
    })
  }

  private async handle(job: ActiveJob, message: WorkerMessage): Promise<void> {
    const { storage } = this.options
    const now = Date.now()
    switch (message.type) {
      case 'started':
        return
      case 'epoch': {
        const recorded = await storage.recordEpochs(job.id, this.owner, {
          points: [{ epoch: message.epoch, loss: message.loss, valLoss: message.valLoss, at: message.at, metrics: message.metrics, lr: message.lr }],
          progress: { epoch: message.epoch, loss: message.loss, bestLoss: message.bestLoss },
        }, now)
        if (!recorded) return this.lostLease(job)
        job.epoch = message.epoch
        job.log.debug({ epoch: message.epoch, loss: message.loss, valLoss: message.valLoss }, 'epoch finished')
        this.options.events?.epoch?.(job.id, message.epoch, message.tokens)
        return
      }
      case 'checkpoint': {
        const checkpoint = { epoch: message.epoch, isFinal: message.final, format: CHECKPOINT_FORMAT, blob: Buffer.from(message.blob.buffer, message.blob.byteOffset, message.blob.byteLength) }
        if (message.final) {
          job.finalCheckpoint = checkpoint
          return
        }
        if (!(await storage.saveCheckpoint(job.id, this.owner, checkpoint, now))) return this.lostLease(job)
        job.log.info({ epoch: message.epoch, bytes: message.blob.byteLength }, 'checkpoint saved')
        return
      }
      case 'finished':
        return this.finish(job, message)
    }
  }

  private async finish(job: ActiveJob, message: Extract<WorkerMessage, { type: 'finished' }>): Promise<void> {
    const { storage } = this.options
    const now = Date.now()
    if (message.outcome === 'succeeded') {
      const current = await storage.jobs.findById(job.id)
      const update = job.finalCheckpoint && current
        ? { points: [], progress: { epoch: current.progressEpoch, loss: current.loss, bestLoss: current.bestLoss }, checkpoint: job.finalCheckpoint }
        : undefined
      if (!(await storage.finishJob(job.id, this.owner, { status: 'succeeded' }, now, update))) return this.lostLease(job)
      job.log.info({ epoch: current?.progressEpoch }, 'job succeeded')
      this.options.events?.finished?.(job.id, 'succeeded')
    } else if (message.outcome === 'stopped' && message.reason === 'shutdown') {
      if (!(await storage.jobs.requeue(job.id, this.owner, { countAttempt: false }, now))) return this.lostLease(job)
      job.log.info({ epoch: job.epoch }, 'job checkpointed and returned to the queue for the next start')
      this.options.events?.finished?.(job.id, 'requeued')
    } else if (message.outcome === 'stopped') {
      if (!(await storage.finishJob(job.id, this.owner, { status: 'cancelled' }, now))) return this.lostLease(job)
      job.log.info({ epoch: job.epoch }, 'job cancelled')
      this.options.events?.finished?.(job.id, 'cancelled')
    } else {
      await this.failJob(job, message.code, message.message)
    }
  }

  private async failJob(job: ActiveJob, code: string, message: string): Promise<void> {
    const done = await this.options.storage.finishJob(job.id, this.owner, { status: 'failed', errorCode: code, errorMessage: message }, Date.now())
    if (done) {
      job.log.warn({ code, epoch: job.epoch }, `job failed: ${message}`)
      this.options.events?.finished?.(job.id, 'failed')
    }
  }

  /** A claimed job that cannot start at all fails at once (no worker ever ran it). */
  private async failUnstarted(job: JobRecord, log: Logger, code: string, message: string): Promise<void> {
    try {
      if (await this.options.storage.finishJob(job.id, this.owner, { status: 'failed', errorCode: code, errorMessage: message }, Date.now())) {
        log.warn({ code }, `job failed: ${message}`)
        this.options.events?.finished?.(job.id, 'failed')
      }
    } catch (err) {
      log.error({ err }, 'could not record that the job cannot start; returning it to the queue')
      await this.release(job.id)
    }
  }

  /** Another process took the job over (our lease lapsed): stop training it here. */
  private lostLease(job: ActiveJob): void {
    job.log.warn({ epoch: job.epoch }, 'lease lost to another worker; stopping this copy of the job')
    Atomics.store(job.stopFlag, 0, STOP_CANCEL)
  }
}
