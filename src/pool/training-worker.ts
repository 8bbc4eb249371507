/**
 * Worker-thread entry point: trains one job and reports every epoch, checkpoint and the
 * outcome on the task's MessagePort. Imports only the engine.
 */
import { StepInterruptedError } from '../engine/interrupt.js'
import { decodeCheckpoint, encodeCheckpoint } from '../engine/tasks/checkpoint.js'
import { DataError } from '../engine/tasks/task.js'
import { NonFiniteLossError, Trainer } from '../engine/tasks/trainer.js'
import { workerData } from 'piscina'
import { HOLD_ON, STOP_CANCEL, STOP_NONE, type TrainingTask, type TrainingWorkerData, type WorkerMessage } from './protocol.js'
import { lowerThreadPriority } from './thread-priority.js'

lowerThreadPriority((workerData as TrainingWorkerData | undefined)?.nice ?? 0)

export default function train(task: TrainingTask): void {
  const post = (message: WorkerMessage, transfer: ArrayBuffer[] = []) => task.port.postMessage(message, transfer)
  const postCheckpoint = (trainer: Trainer, final: boolean) => {
    const blob = encodeCheckpoint(trainer.checkpoint())
    post({ type: 'checkpoint', epoch: trainer.epoch, final, blob }, [blob.buffer as ArrayBuffer])
  }
  // Cancel and shutdown set the flag; it is polled between steps and, inside a step, every time
  // step (engine/interrupt.ts), so a stop never waits for a long step to finish.
  const stopRequested = () => Atomics.load(task.stopFlag, 0) !== STOP_NONE
  const stopReason = () => (Atomics.load(task.stopFlag, 0) === STOP_CANCEL ? 'cancel' : 'shutdown')
  try {
    let trainer: Trainer
    try {
      const init = task.init ? decodeCheckpoint(task.init) : undefined
      trainer = new Trainer(task.spec, task.checkpoint ? decodeCheckpoint(task.checkpoint) : undefined, undefined, init, stopRequested)
    } catch (err) {
      if (err instanceof DataError) {
        post({ type: 'finished', outcome: 'failed', code: 'invalid_data', message: err.message })
        return
      }
      if (err instanceof StepInterruptedError) {
        // Stopped while setting up: nothing trained, the stored checkpoint (if any) stays the one to resume from.
        post({ type: 'finished', outcome: 'stopped', reason: stopReason() })
        return
      }
      throw err
    }
    const { checkpoint_every: every, max_runtime_seconds: maxRuntime } = task.spec.training
    post({ type: 'started', epoch: trainer.epoch })
    // Runtime counts training time across attempts: what the checkpoint recorded plus this run.
    let deadline = performance.now() + maxRuntime * 1000 - trainer.elapsedMs
    const overtime = () => performance.now() > deadline
    // Waiting for the database to take what was sent: not training time, so not runtime either.
    const waitWhileHeld = () => {
      const hold = task.holdFlag
      if (hold === undefined) return
      const since = performance.now()
      while (Atomics.load(hold, 0) === HOLD_ON && !stopRequested()) Atomics.wait(hold, 0, HOLD_ON, 1000)
      deadline += performance.now() - since
    }
    // Where training stands inside long epochs, and its speed, at most every progressMs.
    const progressMs = task.progressMs ?? 2000
    let reported = performance.now()
    const progress = (epoch: number, batch: number, batches: number, tokens: number, since: number) => {
      const now = performance.now()
      if (now - reported < progressMs) return
      reported = now
      const tokensPerSecond = now > since ? tokens / ((now - since) / 1000) : null
      post({ type: 'progress', epoch, batch, batches, tokensPerSecond, at: Date.now() })
    }
    while (!trainer.done) {
      const started = performance.now()
      const epoch = trainer.epoch + 1
      let batches = 0
      const result = trainer.runEpoch(() => stopRequested() || overtime(), (batch, count, tokens) => {
        batches = count
        if (batch < count) progress(epoch, batch, count, tokens, started)
      })
      if (result === null) break
      post({
        type: 'epoch', epoch: result.epoch, loss: result.loss, valLoss: result.valLoss, bestLoss: trainer.bestLoss, tokens: result.tokens,
        at: Date.now(), elapsedMs: trainer.elapsedMs, metrics: result.metrics, lr: result.lr, stoppedEarly: result.stoppedEarly,
      })
      progress(result.epoch, batches, batches, result.tokens, started)
      if (!trainer.done && result.epoch % every === 0) postCheckpoint(trainer, false)
      if (!trainer.done) waitWhileHeld()
      if (stopRequested() || overtime()) break
    }
    if (trainer.done) {
      postCheckpoint(trainer, true)
      post({ type: 'finished', outcome: 'succeeded' })
    } else if (stopRequested()) {
      // A step cut short left the trainer mid-epoch: what is kept is its last finished epoch.
      const reason = stopReason()
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
