import { Piscina } from 'piscina'
import type { TrainingWorkerData } from './protocol.js'
import type { TrainingTask } from './protocol.js'

/** Worker file beside this module: .ts under tsx (development, tests), .js when built. */
function workerFile(): string {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js'
  return new URL(`./training-worker${ext}`, import.meta.url).href
}

/** A fixed-size pool of worker threads that train jobs with the engine. */
export class TrainingPool {
  private readonly piscina: Piscina
  readonly size: number

  /** `nice`: WORKER_NICE, how much lower than the event loop the training threads run. */
  constructor(size: number, nice = 0) {
    this.size = size
    this.piscina = new Piscina({
      filename: workerFile(),
      workerData: { nice } satisfies TrainingWorkerData,
      minThreads: size,
      maxThreads: size,
      idleTimeout: 60_000,
      // Training tasks are long and synchronous: a worker runs one at a time.
      concurrentTasksPerWorker: 1,
    })
  }

  /** Resolves when the worker function returns; its messages arrive on task.port. */
  async run(task: TrainingTask): Promise<void> {
    await this.piscina.run(task, { transferList: [task.port as never] })
  }

  async close(): Promise<void> {
    await this.piscina.destroy()
  }
}
