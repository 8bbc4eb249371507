import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import { MessageChannel } from 'node:worker_threads'
import type { Logger } from 'pino'
import type { JobSpec } from '../engine/tasks/spec.js'
import { CHECKPOINT_FORMAT } from '../engine/tasks/checkpoint.js'
import { HOLD_OFF, STOP_CANCEL, STOP_NONE, STOP_SHUTDOWN, type WorkerMessage } from '../pool/protocol.js'
import { TrainingPool } from '../pool/training-pool.js'
import { InitFromMissingError, loadInitWeights } from './init-from.js'
import type { Storage } from '../storage/storage.js'
import { unlockedNodeId, type NodeIdHold } from '../storage/node-id.js'
import { leaseOwner, newIncarnation, type JobRecord, type LeaseOwner, type NewCheckpoint, type ReapResult } from '../storage/types.js'
import { isStorageFault } from '../storage/errors.js'
import { PersistError, classifyPersistError, type PersistContext, type PersistFailure } from './persist-failure.js'
import { DEFAULT_PERSIST_RETRY, PersistAbandoned, PersistRetrier, type StorageWait } from './persist-retry.js'
import type { JobRunnerEvents, JobRunnerOptions } from './runner-options.js'

export { combineRunnerEvents, type JobRunnerEvents, type JobRunnerOptions } from './runner-options.js'

interface ActiveJob {
  id: string
  attempt: number
  stopFlag: Int32Array
  log: Logger
  /** Last completed epoch, so every lifecycle log line says where training stood. */
  epoch: number
  /** Final checkpoint held back so it is written in the same transaction as the status. */
  finalCheckpoint: NewCheckpoint | null
  /**
   * Why the runner stopped the job itself (never a cancel): its lease was taken over, or a
   * write kept failing and the job is to end `failed` with that code.
   */
  halted: { reason: 'lease_lost' } | { reason: 'persist_failed'; failure: PersistFailure } | { reason: 'abandoned' } | null
  /** Set while a write waits for a full or unavailable database (GET /jobs/{id} shows it). */
  storageWait: StorageWait | null
  /** HOLD_ON while waiting: the worker holds at its next epoch boundary. */
  holdFlag: Int32Array
  done: Promise<void>
}

/**
 * Owns the training lifecycle: claims queued jobs (oldest first) under a lease, trains them
 * on the worker pool, persists every epoch's loss and the checkpoints as they arrive,
 * renews leases by heartbeat and returns lapsed jobs (a dead process) to the queue.
 */
export class JobRunner {
  /** This process among the incarnations of its node: new at every start. */
  private readonly incarnation: string
  /** Identifies this process in leases: its node, and this incarnation of it. */
  private leaseOwner: LeaseOwner
  private nodeHold: NodeIdHold | null = null
  /** Taking the node id (and the jobs a previous incarnation left); claims wait for it. */
  private ready: Promise<void> = Promise.resolve()
  private readonly active = new Map<string, ActiveJob>()
  /** The claim loop in flight (one at a time, so claims never outnumber free workers). */
  private filling: Promise<void> | null = null
  private refill = false
  /** A heartbeat still waiting for the database skips the next tick instead of piling up. */
  private beating = false
  /** When a heartbeat last logged that the database refused it (one line a minute while it does). */
  private heartbeatFaultLoggedAt = 0
  /** Jobs claimed but never started whose return to the queue failed. */
  private readonly unreleased = new Set<string>()
  /** Stops the wake-ups on jobs queued by other processes (PostgreSQL NOTIFY). */
  private unwatch: Promise<() => Promise<void>> | null = null
  private heartbeatTimer: NodeJS.Timeout | null = null
  private pollTimer: NodeJS.Timeout | null = null
  private stopping = false
  private pool: TrainingPool | null = null
  private readonly maxAttempts: number
  private readonly retrier: PersistRetrier

  constructor(private readonly options: JobRunnerOptions) {
    this.maxAttempts = options.maxAttempts ?? 3
    this.retrier = new PersistRetrier({ ...DEFAULT_PERSIST_RETRY, ...options.persistRetries }, {
      abandoning: () => this.stopping,
      waitChanged: (jobId, state) => this.emit('storageWait', jobId, state),
    })
    this.incarnation = newIncarnation(process.pid, randomUUID().slice(0, 8))
    this.leaseOwner = leaseOwner(options.node ?? hostname(), this.incarnation)
  }

  /** The lease owner of this process: `<node id>:<pid>:<nonce>` (final once started). */
  get owner(): LeaseOwner {
    return this.leaseOwner
  }

  get activeJobs(): number {
    return this.active.size
  }

  /** What a job training here waits for, while a write of its progress waits for the database. */
  storageWait(jobId: string): Readonly<StorageWait> | undefined {
    return this.active.get(jobId)?.storageWait ?? undefined
  }

  /** True while this process trains the job (its worker runs, or its last writes are pending). */
  isTraining(jobId: string): boolean {
    return this.active.has(jobId)
  }

  /** True once started and until stopped: the worker pool is up. */
  get running(): boolean {
    return this.pool !== null && !this.stopping
  }

  /** Starts the worker threads, the heartbeat and the queue polling. */
  start(): void {
    if (this.pool) return
    this.stopping = false
    this.pool = new TrainingPool(this.options.workers, this.options.nice, (err) => this.options.logger.error({ err }, 'training worker thread error'))
    const { heartbeatMs, pollMs = 1000 } = this.options
    this.heartbeatTimer = setInterval(() => this.safely('heartbeat', () => this.heartbeat()), heartbeatMs).unref()
    this.pollTimer = setInterval(() => this.safely('polling the queue', () => this.fill()), pollMs).unref()
    // Idle workers wake when any node queues a job; the poll above is the fallback.
    this.unwatch = this.options.storage.watchQueue(() => this.wake()).catch((err: unknown) => {
      this.options.logger.warn({ err }, 'cannot listen for queued jobs; polling only')
      return async () => undefined
    })
    this.ready = this.takeNodeId().catch((err: unknown) => {
      // Without the id held, lease under one nobody else can have, so nothing is taken from a live process.
      if (!this.nodeHold) this.leaseOwner = leaseOwner(unlockedNodeId(this.options.node ?? hostname()).nodeId, this.incarnation)
      this.options.logger.error({ err, owner: this.leaseOwner }, 'could not hold the node id or take back the jobs of a previous run of this node')
    })
    this.safely('reaping lapsed leases', () => this.reap())
    this.fill()
  }

  /** Claims work now (called after a submission). */
  wake(): void {
    setImmediate(() => this.safely('claiming queued jobs', () => this.fill()))
  }

  /**
   * Holds this node's id, then takes back at once what an older incarnation of the node (a
   * process that died) was training: nobody else can hold the id, so no live process does.
   */
  private async takeNodeId(): Promise<void> {
    const { storage, logger, node = hostname() } = this.options
    const hold = await storage.holdNodeId(node)
    this.nodeHold = hold
    this.leaseOwner = leaseOwner(hold.nodeId, this.incarnation)
    if (hold.nodeId !== node) {
      logger.warn({ node, leaseNode: hold.nodeId, exclusive: hold.exclusive },
        `node id ${node} is held by another live process on this database; leasing as ${hold.nodeId} (give each process its own NODE_ID)`)
    }
    let reclaimed = 0
    if (hold.exclusive) {
      const result = await storage.jobs.reclaimLeases(this.leaseOwner, Date.now(), this.maxAttempts)
      this.logReaped(result, 'taken back from a previous run of this node')
      reclaimed = result.requeued.length + result.failed.length + result.cancelled.length
    }
    logger.info({ leaseNode: hold.nodeId, owner: this.leaseOwner, exclusive: hold.exclusive, reclaimed }, `leasing jobs as node ${hold.nodeId}`)
  }

  /** Runs a timer's or handler's work so that nothing it throws or rejects can end the process. */
  private safely(what: string, work: () => unknown): void {
    try {
      const result = work()
      if (result instanceof Promise) result.catch((err: unknown) => this.options.logger.error({ err }, `${what} failed`))
    } catch (err) {
      this.options.logger.error({ err }, `${what} failed`)
    }
  }

  /** Tells the observers; a throwing observer (metrics) never touches the job. */
  private emit<K extends keyof JobRunnerEvents>(event: K, ...args: Parameters<NonNullable<JobRunnerEvents[K]>>): void {
    this.safely(`the ${event} observer`, () => (this.options.events?.[event] as ((...a: Parameters<NonNullable<JobRunnerEvents[K]>>) => void) | undefined)?.(...args))
  }

  /** Asks a job running in this process to stop at its next step boundary. */
  cancel(jobId: string): void {
    const job = this.active.get(jobId)
    if (!job) return
    Atomics.store(job.stopFlag, 0, STOP_CANCEL)
    // A worker held while the job waits for the database stops now.
    Atomics.notify(job.holdFlag, 0)
  }

  /**
   * Graceful stop: no new claims; running jobs checkpoint their last finished epoch and go
   * back to the queue (without using up an attempt). Resolves when they have all stopped.
   */
  async stop(): Promise<void> {
    this.stopping = true
    if (this.pollTimer) clearInterval(this.pollTimer)
    this.pollTimer = null
    // Stop the jobs first: every await below lets them train on. A job waiting for the
    // database stops waiting: it resumes from its last saved checkpoint at the next start.
    const stopAll = () => {
      for (const job of this.active.values()) {
        Atomics.compareExchange(job.stopFlag, 0, STOP_NONE, STOP_SHUTDOWN)
        Atomics.notify(job.holdFlag, 0)
      }
      this.retrier.interrupt()
    }
    stopAll()
    // A claim in flight either launches its job (stopped here too) or hands it back.
    await this.filling
    stopAll()
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
    await this.ready
    await this.nodeHold?.release()
    this.nodeHold = null
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
      // Only the jobs training here: a row this process holds but no longer trains must lapse.
      await storage.jobs.renewLeases(this.owner, [...this.active.keys()], leaseTtlMs, Date.now())
      // A cancel recorded by another process (or before this one noticed) still stops the job.
      for (const job of this.active.values()) {
        if (await storage.jobs.isCancelRequested(job.id)) Atomics.compareExchange(job.stopFlag, 0, STOP_NONE, STOP_CANCEL)
      }
      // Reached only when the renewal went through: while the database refuses writes, this
      // node's own reaper never takes the jobs waiting for it here.
      await this.reap()
      this.fill()
    } catch (err) {
      if (!isStorageFault(err)) logger.error({ err }, 'heartbeat failed')
      else if (Date.now() - this.heartbeatFaultLoggedAt >= 60_000) {
        this.heartbeatFaultLoggedAt = Date.now()
        logger.warn({ err, jobs: this.active.size }, `heartbeat could not renew the leases: ${err.problem}; jobs training here keep going and are not reaped by this node (another node may take them once their leases lapse)`)
      }
    } finally {
      this.beating = false
    }
  }

  private async reap(): Promise<void> {
    this.logReaped(await this.options.storage.jobs.reapExpiredLeases(Date.now(), this.maxAttempts), 'lapsed')
  }

  private logReaped({ requeued, failed, cancelled }: ReapResult, how: string): void {
    const { logger } = this.options
    for (const job of requeued) {
      const fields = { jobId: job.id, attempt: job.attempt, epoch: job.epoch, progressed: job.progressed }
      logger.warn(fields, job.progressed
        ? `job lease ${how}; it saved a newer checkpoint, so no attempt is used: back in the queue to resume from it`
        : `job lease ${how} before a newer checkpoint (attempt ${job.attempt} of ${this.maxAttempts} used); back in the queue to resume from its last checkpoint`)
    }
    for (const job of failed) logger.error({ jobId: job.id, attempt: job.attempt, epoch: job.epoch }, `job lease ${how} on ${job.attempt} attempts without a newer checkpoint; failed as stalled`)
    for (const job of cancelled) logger.info({ jobId: job.id, attempt: job.attempt, epoch: job.epoch }, `job lease ${how} after a cancel request; cancelled`)
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
      await this.ready
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
    const holdFlag = new Int32Array(new SharedArrayBuffer(4))
    Atomics.store(holdFlag, 0, HOLD_OFF)
    const { port1, port2 } = new MessageChannel()
    let settle!: () => void
    const active: ActiveJob = {
      id: job.id, attempt: job.attempt, stopFlag, log, epoch: resume.progress.epoch, finalCheckpoint: null, halted: null,
      storageWait: null, holdFlag,
      done: new Promise<void>((resolve) => { settle = resolve }),
    }
    this.active.set(job.id, active)
    log.info({ epoch: resume.progress.epoch, resumed: resume.checkpoint !== undefined }, resume.checkpoint ? 'job resumed from checkpoint' : 'job started')
    this.emit('started', job, resume.progress.epoch)

    let finished = false
    const end = () => {
      if (!this.active.has(job.id)) return
      this.active.delete(job.id)
      port1.close()
      settle()
      this.fill()
    }
    // Messages are persisted one after another, in the order the worker sent them. A write
    // that still fails after its retries stops the job, which then ends `failed` with the cause.
    let persisted = Promise.resolve()
    const enqueue = (step: () => Promise<void> | void) => {
      persisted = persisted.then(step).catch((err: unknown) => this.persistFailed(active, err, finished))
    }
    port1.on('message', (message: WorkerMessage) => this.safely('handling a training message', () => {
      if (message.type === 'finished') finished = true
      enqueue(() => this.handle(active, message))
      if (message.type === 'finished') enqueue(end)
    }))
    pool.run({
      jobId: job.id, attempt: job.attempt, spec: job.spec as JobSpec,
      checkpoint: resume.checkpoint ? new Uint8Array(resume.checkpoint.blob) : null, init, stopFlag, holdFlag, port: port2, progressMs: this.options.progressMs,
    }).then(() => {
      // Messages can trail the task's completion; give them a turn before deciding it vanished.
      setTimeout(() => this.safely('ending a training task', () => {
        if (!finished) enqueue(() => this.retryOrFail(active, 'training_error', 'the training worker stopped without reporting an outcome'))
        enqueue(end)
      }), 100)
    }, (err: Error) => this.safely('ending a crashed training task', () => {
      log.error({ err, epoch: active.epoch }, 'training worker crashed')
      enqueue(() => this.retryOrFail(active, 'training_error', `the training worker crashed (${err.message})`))
      enqueue(end)
    }))
  }

  private async handle(job: ActiveJob, message: WorkerMessage): Promise<void> {
    const { storage } = this.options
    // A job stopped here writes nothing more until its outcome.
    if (job.halted && message.type !== 'finished') return
    switch (message.type) {
      case 'started':
        return
      case 'epoch': {
        const update = {
          points: [{ epoch: message.epoch, loss: message.loss, valLoss: message.valLoss, at: message.at, metrics: message.metrics, lr: message.lr }],
          progress: { epoch: message.epoch, loss: message.loss, bestLoss: message.bestLoss },
        }
        const recorded = await this.persist(job, { what: `loss of epoch ${message.epoch}` }, () => storage.recordEpochs(job.id, this.owner, update, Date.now()))
        if (!recorded) return this.lostLease(job)
        job.epoch = message.epoch
        job.log.debug({ epoch: message.epoch, loss: message.loss, valLoss: message.valLoss }, 'epoch finished')
        this.emit('epoch', job.id, message.epoch, message.tokens)
        return
      }
      case 'progress': {
        const { epoch, batch, batches, tokensPerSecond, at } = message
        try {
          if (await storage.progress.record(job.id, this.owner, { epoch, batch, batches, tokensPerSecond, at })) this.options.events?.progress?.(job.id)
        } catch (err) {
          // A view of the moment: a database that refuses it now loses nothing worth waiting for.
          if (!isStorageFault(err)) throw err
        }
        return
      }
      case 'checkpoint': {
        const checkpoint = { epoch: message.epoch, isFinal: message.final, format: CHECKPOINT_FORMAT, blob: Buffer.from(message.blob.buffer, message.blob.byteOffset, message.blob.byteLength) }
        if (message.final) {
          job.finalCheckpoint = checkpoint
          return
        }
        const context = { what: `checkpoint of epoch ${message.epoch}`, checkpointBytes: message.blob.byteLength }
        if (!(await this.persist(job, context, () => storage.saveCheckpoint(job.id, this.owner, checkpoint, Date.now())))) return this.lostLease(job)
        job.log.info({ epoch: message.epoch, bytes: message.blob.byteLength }, 'checkpoint saved')
        return
      }
      case 'finished':
        return this.finish(job, message)
    }
  }

  private async finish(job: ActiveJob, message: Extract<WorkerMessage, { type: 'finished' }>): Promise<void> {
    const { storage } = this.options
    if (job.halted?.reason === 'lease_lost' || job.halted?.reason === 'abandoned') return
    if (job.halted?.reason === 'persist_failed') return this.failJob(job, job.halted.failure.code, job.halted.failure.message, { wait: false })
    if (message.outcome === 'succeeded') {
      const current = await this.persist(job, { what: 'job status' }, () => storage.jobs.findById(job.id))
      const final = job.finalCheckpoint
      const update = final && current
        ? { points: [], progress: { epoch: current.progressEpoch, loss: current.loss, bestLoss: current.bestLoss }, checkpoint: final }
        : undefined
      const context = { what: final ? `final checkpoint (epoch ${final.epoch})` : 'job status', checkpointBytes: final?.blob.byteLength }
      if (!(await this.persist(job, context, () => storage.finishJob(job.id, this.owner, { status: 'succeeded' }, Date.now(), update)))) return this.lostLease(job)
      job.log.info({ epoch: current?.progressEpoch }, 'job succeeded')
      this.emit('finished', job.id, 'succeeded')
    } else if (message.outcome === 'stopped' && message.reason === 'shutdown') {
      if (!(await this.persist(job, { what: 'job status' }, () => storage.jobs.requeue(job.id, this.owner, { countAttempt: false }, Date.now())))) return this.lostLease(job)
      job.log.info({ epoch: job.epoch }, 'job checkpointed and returned to the queue for the next start')
      this.emit('finished', job.id, 'requeued')
    } else if (message.outcome === 'stopped') {
      // Only a cancel request stops a job with STOP_CANCEL here: the runner's own stops are `halted`.
      if (!(await this.persist(job, { what: 'job status' }, () => storage.finishJob(job.id, this.owner, { status: 'cancelled' }, Date.now())))) return this.lostLease(job)
      job.log.info({ epoch: job.epoch }, 'job cancelled')
      this.emit('finished', job.id, 'cancelled')
    } else if (message.code === 'training_error') {
      await this.retryOrFail(job, message.code, message.message)
    } else {
      await this.failJob(job, message.code, message.message)
    }
  }

  /** Writes with the retries and waits of persist-retry.ts; throws PersistError once they give up. */
  private persist<T>(job: ActiveJob, context: PersistContext, write: () => Promise<T>, options?: { wait?: boolean }): Promise<T> {
    return this.retrier.write(job, context, write, options)
  }

  /**
   * A write gave up: the job stops training and ends `failed` with the cause (at once when
   * its worker has already finished, else when it reports that it stopped).
   */
  private async persistFailed(job: ActiveJob, err: unknown, workerFinished: boolean): Promise<void> {
    if (err instanceof PersistAbandoned) {
      // Shutting down while the database refuses writes: nothing more is written for this job
      // here; it resumes from its last saved checkpoint at the next start (or on another node).
      if (job.halted === null) job.log.warn({ epoch: job.epoch }, `${err.message}; the job resumes from its last saved checkpoint at the next start`)
      job.halted ??= { reason: 'abandoned' }
      Atomics.compareExchange(job.stopFlag, 0, STOP_NONE, STOP_SHUTDOWN)
      return
    }
    const failure = err instanceof PersistError ? err.failure : classifyPersistError(err, { what: 'training progress' })
    job.log.error({ err: err instanceof PersistError ? err.original : err, epoch: job.epoch, code: failure.code }, `could not record training progress: ${failure.message}`)
    if (job.halted?.reason === 'lease_lost') return
    const first = job.halted === null
    job.halted = { reason: 'persist_failed', failure }
    Atomics.store(job.stopFlag, 0, STOP_CANCEL)
    if (workerFinished || !first) await this.failJob(job, failure.code, failure.message, { wait: false })
  }

  /** A run whose computation threw counts as an attempt; the job runs again until the attempts are used up. */
  private async retryOrFail(job: ActiveJob, code: string, message: string): Promise<void> {
    if (job.halted) return this.finish(job, { type: 'finished', outcome: 'failed', code: 'training_error', message })
    if (job.attempt >= this.maxAttempts) return this.failJob(job, code, `${message} (attempt ${job.attempt} of ${this.maxAttempts})`)
    const requeued = await this.persist(job, { what: 'job status' }, () => this.options.storage.jobs.requeue(job.id, this.owner, { countAttempt: true }, Date.now()))
    if (!requeued) return this.lostLease(job)
    job.log.warn({ code, epoch: job.epoch }, `job failed on attempt ${job.attempt} of ${this.maxAttempts}: ${message}; back in the queue to resume from its last checkpoint`)
    this.emit('finished', job.id, 'requeued')
  }

  /**
   * Ends the job `failed`; when even that cannot be written, its lease lapses and the reaper
   * takes it back. `wait: false` after a write gave up waiting for the database: no second wait.
   */
  private async failJob(job: ActiveJob, code: string, message: string, options?: { wait: boolean }): Promise<void> {
    let done
    try {
      done = await this.persist(job, { what: 'job status' }, () =>
        this.options.storage.finishJob(job.id, this.owner, { status: 'failed', errorCode: code, errorMessage: message }, Date.now()), options)
    } catch (err) {
      job.log.error({ err, code, epoch: job.epoch }, 'could not record that the job failed; its lease will lapse and it will be taken back')
      return
    }
    if (done) {
      job.log.warn({ code, epoch: job.epoch }, `job failed: ${message}`)
      this.emit('finished', job.id, 'failed')
    }
  }

  /** A claimed job that cannot start at all fails at once (no worker ever ran it). */
  private async failUnstarted(job: JobRecord, log: Logger, code: string, message: string): Promise<void> {
    try {
      if (await this.options.storage.finishJob(job.id, this.owner, { status: 'failed', errorCode: code, errorMessage: message }, Date.now())) {
        log.warn({ code }, `job failed: ${message}`)
        this.emit('finished', job.id, 'failed')
      }
    } catch (err) {
      log.error({ err }, 'could not record that the job cannot start; returning it to the queue')
      await this.release(job.id)
    }
  }

  /** Another process took the job over (our lease lapsed): stop training it here. */
  private lostLease(job: ActiveJob): void {
    if (job.halted?.reason !== 'lease_lost') job.log.warn({ epoch: job.epoch }, 'lease lost to another worker; stopping this copy of the job')
    job.halted = { reason: 'lease_lost' }
    Atomics.store(job.stopFlag, 0, STOP_CANCEL)
  }
}
