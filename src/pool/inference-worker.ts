/**
 * Inference worker thread: runs batches of predictions for the main thread, holding its share
 * of the model cache. Imports only the engine (and the cache of engine models).
 * No top-level await: worker files are loaded synchronously.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { PredictionStoppedError } from '../engine/tasks/batch-predictor.js'
import { ModelCache } from '../serving/model-cache.js'
import { runRows } from '../serving/run-rows.js'
import { fullGarbageCollector } from './collect-garbage.js'
import { lowerThreadPriority } from './thread-priority.js'
import type { FromInferenceWorker, InferenceTask, InferenceWorkerOptions, ToInferenceWorker } from './inference-protocol.js'

const options = workerData as InferenceWorkerOptions
lowerThreadPriority(options.nice ?? 0)
const cache = new ModelCache(options.cacheBytes, options.cacheModels)
const collectGarbage = fullGarbageCollector()
/** A batch made its predictor drop a grown instance: collect once the reply is sent. */
let released = false
const port = parentPort!

function run(task: InferenceTask): FromInferenceWorker {
  const predictor = task.checkpoint ? cache.load(task.jobId, task.checkpoint) : cache.get(task.jobId)
  if (!predictor) return { type: 'missing', id: task.id }
  if (Date.now() > task.deadline) return { type: 'stopped', id: task.id }
  try {
    return { type: 'done', id: task.id, outputs: runRows(predictor, task.rows, task.deadline, () => { released = true }), cacheBytes: cache.bytes, cachedModels: cache.size }
  } catch (err) {
    if (err instanceof PredictionStoppedError) return { type: 'stopped', id: task.id }
    throw err
  }
}

port.on('message', (message: ToInferenceWorker) => {
  if (message.type === 'evict') {
    cache.evict(message.jobId)
    return
  }
  let reply: FromInferenceWorker
  try {
    reply = run(message.task)
  } catch (err) {
    reply = { type: 'failed', id: message.task.id, message: (err as Error).message }
  }
  port.postMessage(reply)
  if (released) {
    released = false
    collectGarbage()
  }
})

// Modules are loaded: the pool may send work (its deadlines start counting on a ready worker).
port.postMessage({ type: 'ready' } satisfies FromInferenceWorker)
