/**
 * Worker-thread entry point: trains one job and reports every epoch, checkpoint and the
 * outcome on the task's MessagePort. Imports only the engine.
 */
import { decodeCheckpoint, encodeCheckpoint } from '../engine/tasks/checkpoint.js'
import { DataError } from '../engine/tasks/task.js'
import { NonFiniteLossError, Trainer } from '../engine/tasks/trainer.js'
import { workerData } from 'piscina'
import { STOP_CANCEL, STOP_NONE, type TrainingTask, type TrainingWorkerData, type WorkerMessage } from './protocol.js'
import { lowerThreadPriority } from './thread-priority.js'

lowerThreadPriority((workerData as TrainingWorkerData | undefined)?.nice ?? 0)

export default function train(task: TrainingTask): void {
  const post = (message: WorkerMessage, transfer: ArrayBuffer[] = []) => task.port.postMessage(message, transfer)
  const postCheckpoint = (trainer: Trainer, final: boolean) => {
    const blob = encodeCheckpoint(trainer.checkpoint())
    post({ type: 'checkpoint', epoch: trainer.epoch, final, blob }, [blob.buffer as ArrayBuffer])
  }
  try {
    let trainer: Trainer
    try {
      const init = task.init ? decodeCheckpoint(task.init) : undefined
      trainer = new Trainer(task.spec, task.checkpoint ? decodeCheckpoint(task.checkpoint) : undefined, undefined, init)
    } catch (err) {
      if (err instanceof DataError) {
        post({ type: 'finished', outcome: 'failed', code: 'invalid_data', message: err.message })
        return
      }
      throw err
    }
    const { checkpoint_every: every, max_runtime_seconds: maxRuntime } = task.spec.training
    post({ type: 'started', epoch: trainer.epoch })
    // Runtime counts training time across attempts: what the checkpoint recorded plus this run.
    const deadline = performance.now() + maxRuntime * 1000 - trainer.elapsedMs
    const overtime = () => performance.now() > deadline
    const stopRequested = () => Atomics.load(task.stopFlag, 0) !== STOP_NONE
    while (!trainer.done) {
      const result = trainer.runEpoch(() => stopRequested() || overtime())
      if (result === null) break
      post({
        type: 'epoch', epoch: result.epoch, loss: result.loss, valLoss: result.valLoss, bestLoss: trainer.bestLoss, tokens: result.tokens,
        at: Date.now(), elapsedMs: trainer.elapsedMs, metrics: result.metrics, lr: result.lr, stoppedEarly: result.stoppedEarly,
      })
      if (!trainer.done && result.epoch % every === 0) postCheckpoint(trainer, false)
      if (stopRequested() || overtime()) break
    }
    if (trainer.done) {
      postCheckpoint(trainer, true)
      post({ type: 'finished', outcome: 'succeeded' })
    } else if (stopRequested()) {
      const reason = Atomics.load(task.stopFlag, 0) === STOP_CANCEL ? 'cancel' : 'shutdown'
      if (reason === 'shutdown') postCheckpoint(trainer, false)
      post({ type: 'finished', outcome: 'stopped', reason })
    } else {
      postCheckpoint(trainer, false)
      post({ type: 'finished', outcome: 'failed', code: 'max_runtime_exceeded', message: `training ran longer than training.max_runtime_seconds = ${maxRuntime} s; the checkpoint of epoch ${trainer.epoch} is kept` })
    }
  } catch (err) {
    if (err instanceof NonFiniteLossError) {
      post({ type: 'finished', outcome: 'failed', code: 'nan_loss', message: err.message })
    } else {
      post({ type: 'finished', outcome: 'failed', code: 'training_error', message: (err as Error).message })
    }
  } finally {
    task.port.close()
  }
}
