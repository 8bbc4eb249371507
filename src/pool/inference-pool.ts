import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { FromInferenceWorker, InferenceOutputs, InferenceRows, InferenceWorkerOptions, ToInferenceWorker } from './inference-protocol.js'

/** Workers that die before they are ready, in a row, after which the pool stops respawning. */
const MAX_START_FAILURES = 3

/** Worker file beside this module: .ts under tsx (development, tests), .js when built. */
function workerFile(): URL {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js'
  return new URL(`./inference-worker${ext}`, import.meta.url)
}

/** One batch of rows for one model, as the pool receives it from its source. */
export interface InferenceBatch {
  jobId: string
  rows: InferenceRows
  /** Date.now() by which the batch must be done: the latest deadline of its requests. */
  deadline: number
  resolve(outputs: InferenceOutputs): void
  reject(error: Error): void
}

/** Where idle workers pull their next batch from (the micro-batcher). */
export interface BatchSource {
  take(): InferenceBatch | undefined
}

/** The batch ran past its deadline; the worker stopped it (or was restarted). */
export class InferenceTimeoutError extends Error {
  constructor(readonly restarted: boolean) {
    super(restarted ? 'the prediction ran past its deadline; its worker was restarted' : 'the prediction ran past its deadline and was stopped')
    this.name = 'InferenceTimeoutError'
  }
}

export interface InferencePoolOptions {
  size: number
  /** The workers' part of MODEL_CACHE_BYTES, split evenly among them. */
  cacheBytes: number
  /** Deprecated MODEL_CACHE_SIZE (models per cache), or undefined. */
  cacheModels?: number
  /** PREDICT_WORKER_NICE */
  nice?: number
  /** The final checkpoint of a job, for a worker that does not hold the model yet. */
  loadCheckpoint(jobId: string): Promise<Uint8Array>
  source: BatchSource
  /**
   * How long past a batch's deadline a worker may take to notice (it checks between steps)
   * before it is terminated and replaced.
   */
  stopGraceMs?: number
}

interface Slot {
  worker: Worker
  /** The worker has loaded its modules and takes work. */
  ready: boolean
  batch: InferenceBatch | null
  taskId: number
  /** The worker reported a miss for the running task. */
  missed: boolean
  killTimer: NodeJS.Timeout | null
  /** Models this worker holds (as far as the main thread knows): batches prefer such a worker. */
  loaded: Set<string>
  cacheBytes: number
  cachedModels: number
}

/**
 * Worker threads that run predictions, so the event loop only parses, routes and serialises.
 * Each worker runs one batch at a time and keeps its own LRU of decoded models; a worker that
 * lacks a model says so and gets the checkpoint bytes (the main thread never decodes weights).
 * Workers start on the first prediction. A batch past its deadline is stopped by the worker's
 * own checks between steps; if the worker does not answer within the grace period after the
 * deadline, it is terminated and a fresh one takes its place.
 */
export class InferencePool {
  private readonly slots: Slot[] = []
  private starting: Promise<void> | null = null
  private closed = false
  private nextTaskId = 0
  private readyWaiters: (() => void)[] = []
  private startFailures = 0
  private broken: Error | null = null
  hits = 0
  misses = 0
  restarts = 0

  constructor(private readonly options: InferencePoolOptions) {}

  get size(): number {
    return this.options.size
  }

  /** Workers that have loaded their modules and take work. */
  get readyWorkers(): number {
    return this.slots.filter((slot) => slot.ready).length
  }

  /** Batches running now. */
  get busy(): number {
    return this.slots.filter((slot) => slot.batch !== null).length
  }

  /** Bytes of decoded models held by the workers, as they last reported. */
  get cacheBytes(): number {
    return this.slots.reduce((sum, slot) => sum + slot.cacheBytes, 0)
  }

  /** Models held by the workers, as they last reported. */
  get cachedModels(): number {
    return this.slots.reduce((sum, slot) => sum + slot.cachedModels, 0)
  }

  /**
   * Starts the workers (the first prediction does it too); resolves once they have all
   * loaded their modules and take work. Later calls return the same promise: a worker
   * replaced after a crash or a timeout does not hold anyone up.
   */
  start(): Promise<void> {
    if (!this.starting) {
      this.starting = new Promise((resolve) => { this.readyWaiters.push(resolve) })
      if (!this.closed) for (let i = 0; i < this.options.size; i++) this.slots.push(this.spawn())
    }
    return this.starting
  }

  /** New work is waiting in the source: start it on idle workers. */
  wake(): void {
    if (this.closed) return
    if (!this.starting) void this.start()
    if (this.broken) {
      // Workers that die while loading would be respawned forever: fail fast instead.
      for (let batch = this.options.source.take(); batch; batch = this.options.source.take()) batch.reject(this.broken)
      return
    }
    for (;;) {
      const idle = this.slots.filter((slot) => slot.ready && slot.batch === null)
      if (idle.length === 0) return
      const batch = this.options.source.take()
      if (!batch) return
      const slot = idle.find((s) => s.loaded.has(batch.jobId)) ?? idle.find((s) => s.loaded.size === 0) ?? idle[0]
      this.run(slot, batch)
    }
  }

  /** Drops a model from every worker (its job was deleted). */
  evict(jobId: string): void {
    for (const slot of this.slots) {
      slot.loaded.delete(jobId)
      this.post(slot, { type: 'evict', jobId })
    }
  }

  async close(): Promise<void> {
    this.closed = true
    this.settleStart()
    const slots = this.slots.splice(0)
    for (const slot of slots) {
      if (slot.killTimer) clearTimeout(slot.killTimer)
      slot.batch?.reject(new Error('the service is shutting down'))
      slot.batch = null
    }
    await Promise.all(slots.map((slot) => slot.worker.terminate()))
  }

  private spawn(): Slot {
    const workerOptions: InferenceWorkerOptions = {
      cacheBytes: Math.floor(this.options.cacheBytes / this.options.size),
      cacheModels: this.options.cacheModels ?? Number.POSITIVE_INFINITY,
      nice: this.options.nice ?? 0,
    }
    const file = workerFile()
    // Under tsx a worker's entry must be JavaScript: a .cjs shim requires the .ts module.
    const worker = file.pathname.endsWith('.ts')
      ? new Worker(new URL('./tsx-worker-entry.cjs', import.meta.url), { workerData: { ...workerOptions, entryPath: fileURLToPath(file) } })
      : new Worker(file, { workerData: workerOptions })
    const slot: Slot = { worker, ready: false, batch: null, taskId: 0, missed: false, killTimer: null, loaded: new Set(), cacheBytes: 0, cachedModels: 0 }
    worker.on('message', (message: FromInferenceWorker) => this.onMessage(slot, message))
    worker.on('error', (err) => this.replace(slot, err))
    worker.on('exit', () => this.replace(slot, new Error('an inference worker exited')))
    // An idle pool must not keep the process alive (tests, scripts); a running batch does.
    worker.unref()
    return slot
  }

  private post(slot: Slot, message: ToInferenceWorker, transfer: ArrayBuffer[] = []): void {
    slot.worker.postMessage(message, transfer)
  }

  private run(slot: Slot, batch: InferenceBatch, checkpoint: Uint8Array | null = null): void {
    if (slot.batch !== batch) {
      slot.batch = batch
      slot.taskId = ++this.nextTaskId
      slot.missed = false
      slot.worker.ref()
      const grace = this.options.stopGraceMs ?? 1000
      slot.killTimer = setTimeout(() => this.kill(slot), Math.max(0, batch.deadline - Date.now()) + grace)
    }
    this.post(slot, { type: 'run', task: { id: slot.taskId, jobId: batch.jobId, rows: batch.rows, deadline: batch.deadline, checkpoint } },
      checkpoint ? [checkpoint.buffer as ArrayBuffer] : [])
  }

  private onMessage(slot: Slot, message: FromInferenceWorker): void {
    if (message.type === 'ready') {
      slot.ready = true
      this.startFailures = 0
      if (this.slots.every((s) => s.ready)) this.settleStart()
      this.wake()
      return
    }
    const batch = slot.batch
    if (!batch || message.id !== slot.taskId) return
    if (message.type === 'missing') {
      slot.missed = true
      slot.loaded.delete(batch.jobId)
      this.options.loadCheckpoint(batch.jobId).then(
        (bytes) => {
          // A fresh copy the worker can take ownership of (storage may hand out a shared buffer).
          if (slot.batch === batch && slot.taskId === message.id) this.run(slot, batch, Uint8Array.from(bytes))
        },
        (err: Error) => {
          if (slot.batch === batch && slot.taskId === message.id) this.finish(slot, () => batch.reject(err))
        },
      )
      return
    }
    if (message.type === 'done') {
      if (slot.missed) this.misses++
      else this.hits++
      slot.loaded.add(batch.jobId)
      slot.cacheBytes = message.cacheBytes
      slot.cachedModels = message.cachedModels
      this.finish(slot, () => batch.resolve(message.outputs))
    } else if (message.type === 'stopped') {
      this.finish(slot, () => batch.reject(new InferenceTimeoutError(false)))
    } else {
      this.finish(slot, () => batch.reject(new Error(`prediction failed in its worker: ${message.message}`)))
    }
  }

  /** Lets everyone waiting for the start go on (the workers are up, broken or closing). */
  private settleStart(): void {
    for (const resolve of this.readyWaiters.splice(0)) resolve()
  }

  /** Frees the slot, settles its batch and starts the next one. */
  private finish(slot: Slot, settle: () => void): void {
    if (slot.killTimer) clearTimeout(slot.killTimer)
    slot.killTimer = null
    slot.batch = null
    slot.worker.unref()
    settle()
    this.wake()
  }

  /** The worker ignored its deadline (a long single step): replace it. */
  private kill(slot: Slot): void {
    const batch = slot.batch
    if (!batch) return
    slot.batch = null
    this.restarts++
    this.swap(slot)
    batch.reject(new InferenceTimeoutError(true))
    this.wake()
  }

  /** A worker crashed or exited: fail its batch and start a fresh worker in its place. */
  private replace(slot: Slot, err: Error): void {
    if (this.closed || !this.slots.includes(slot)) return
    const batch = slot.batch
    slot.batch = null
    this.restarts++
    this.startFailures = slot.ready ? 0 : this.startFailures + 1
    if (this.startFailures >= MAX_START_FAILURES) {
      this.broken = new Error(`the inference workers cannot start (${this.startFailures} failed in a row: ${err.message})`)
      this.slots.splice(this.slots.indexOf(slot), 1)
      void slot.worker.terminate()
      batch?.reject(this.broken)
      this.settleStart()
      this.wake()
      return
    }
    this.swap(slot)
    batch?.reject(new Error(`prediction failed: ${err.message}`))
    this.wake()
  }

  private swap(slot: Slot): void {
    if (slot.killTimer) clearTimeout(slot.killTimer)
    const index = this.slots.indexOf(slot)
    if (index < 0) return
    slot.worker.removeAllListeners()
    slot.worker.on('error', () => {})
    void slot.worker.terminate()
    this.slots[index] = this.spawn()
  }
}
