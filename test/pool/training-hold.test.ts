/**
 * The hold flag of a training task (set by the runner while the database refuses the job's
 * writes), on a real worker thread: the worker waits at the epoch boundary, so unsaved epochs
 * cannot pile up; clearing the flag or a stop request ends the wait; time held is not
 * training runtime (max_runtime_seconds).
 */
import { MessageChannel } from 'node:worker_threads'
import t from 'tap'
import { DEFAULT_DTYPE } from '../../src/engine/backend/select.js'
import { HOLD_OFF, HOLD_ON, STOP_CANCEL, type WorkerMessage } from '../../src/pool/protocol.js'
import { TrainingPool } from '../../src/pool/training-pool.js'
import { gruPairsJob } from '../helpers/job-specs.js'
import { waitFor } from '../helpers/jobs-client.js'
import type { TapTest } from '../helpers/server.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function heldTask(t: TapTest, epochs: number, maxRuntimeSeconds = 3600) {
  const pool = new TrainingPool(1)
  t.teardown(() => pool.close())
  const request = gruPairsJob('held', { seed: 1, epochs, checkpointEvery: 1 })
  const spec = { ...request, model: { ...request.model, dtype: DEFAULT_DTYPE }, training: { ...request.training, max_runtime_seconds: maxRuntimeSeconds } }
  const stopFlag = new Int32Array(new SharedArrayBuffer(4))
  const holdFlag = new Int32Array(new SharedArrayBuffer(4))
  Atomics.store(holdFlag, 0, HOLD_ON)
  const { port1, port2 } = new MessageChannel()
  const messages: WorkerMessage[] = []
  port1.on('message', (message: WorkerMessage) => messages.push(message))
  t.teardown(() => port1.close())
  // No `progress` messages: only epochs, checkpoints and the outcome are counted.
  const run = pool.run({ jobId: 'held', attempt: 1, spec, checkpoint: null, stopFlag, holdFlag, port: port2, progressMs: 1e9 })
  const release = () => {
    Atomics.store(holdFlag, 0, HOLD_OFF)
    Atomics.notify(holdFlag, 0)
  }
  const firstEpoch = () => waitFor('epoch 1 and its checkpoint', () => (messages.some((m) => m.type === 'checkpoint') ? true : undefined), 60_000)
  return { messages, run, release, stopFlag, holdFlag, firstEpoch }
}

t.test('a held worker waits after its epoch until the hold is released, then trains on', async (t) => {
  const task = heldTask(t, 30)
  await task.firstEpoch()
  // Thirty epochs take a few milliseconds each: unheld, they would all be done by now.
  await sleep(500)
  t.same(task.messages.map((m) => m.type), ['started', 'epoch', 'checkpoint'], 'nothing after the first epoch while held')
  task.release()
  await task.run
  await waitFor('the outcome', () => (task.messages.some((m) => m.type === 'finished') ? true : undefined))
  t.same(task.messages.filter((m) => m.type === 'epoch').map((m) => m.epoch), Array.from({ length: 30 }, (_, i) => i + 1), 'then every epoch, once')
  t.match(task.messages.at(-1), { type: 'finished', outcome: 'succeeded' })
})

t.test('a stop request ends the hold', async (t) => {
  const task = heldTask(t, 30)
  await task.firstEpoch()
  Atomics.store(task.stopFlag, 0, STOP_CANCEL)
  Atomics.notify(task.holdFlag, 0)
  await task.run
  await waitFor('the outcome', () => (task.messages.some((m) => m.type === 'finished') ? true : undefined))
  t.match(task.messages.at(-1), { type: 'finished', outcome: 'stopped', reason: 'cancel' })
  t.equal(task.messages.filter((m) => m.type === 'epoch').length, 1, 'no epoch trained after the stop')
})

t.test('time held does not count as training runtime (max_runtime_seconds)', async (t) => {
  const task = heldTask(t, 10, 1)
  await task.firstEpoch()
  await sleep(1500)
  task.release()
  await task.run
  await waitFor('the outcome', () => (task.messages.some((m) => m.type === 'finished') ? true : undefined))
  t.match(task.messages.at(-1), { type: 'finished', outcome: 'succeeded' }, 'held 1.5 s, yet within a 1 s runtime limit')
})
