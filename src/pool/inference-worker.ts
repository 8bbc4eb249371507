/**
 * Inference worker thread: runs batches of predictions for the main thread, holding its share
 * of the model cache. Imports only the engine (and the cache of engine models).
 * No top-level await: worker files are loaded synchronously.
 */
import { parentPort, workerData } from 'node:worker_threads'
import type { BatchPredictor } from '../engine/tasks/batch-predictor.js'
import { PredictionStoppedError } from '../engine/tasks/batch-predictor.js'
import { ModelCache } from '../serving/model-cache.js'
import type { FromInferenceWorker, InferenceOutputs, InferenceRows, InferenceTask, InferenceWorkerOptions, ToInferenceWorker } from './inference-protocol.js'

const options = workerData as InferenceWorkerOptions
const cache = new ModelCache(options.cacheBytes, options.cacheModels)
const port = parentPort!

function compute(predictor: BatchPredictor, rows: InferenceRows, deadline: number): InferenceOutputs {
  const shouldStop = () => Date.now() > deadline
  switch (rows.kind) {
    case 'pairs': return { kind: 'pairs', outputs: predictor.mapSequences(rows.inputs) }
    case 'classes': return { kind: 'classes', probabilities: predictor.classify(rows.inputs) }
    case 'text': return { kind: 'text', outputs: predictor.generate(rows.prompts, rows.options, shouldStop) }
    case 'series': return { kind: 'series', forecasts: predictor.forecast(rows.histories, rows.horizons, shouldStop) }
  }
}

function run(task: InferenceTask): FromInferenceWorker {
  const predictor = task.checkpoint ? cache.load(task.jobId, task.checkpoint) : cache.get(task.jobId)
  if (!predictor) return { type: 'missing', id: task.id }
  if (Date.now() > task.deadline) return { type: 'stopped', id: task.id }
  try {
    return { type: 'done', id: task.id, outputs: compute(predictor, task.rows, task.deadline), cacheBytes: cache.bytes, cachedModels: cache.size }
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
})

// Modules are loaded: the pool may send work (its deadlines start counting on a ready worker).
port.postMessage({ type: 'ready' } satisfies FromInferenceWorker)
