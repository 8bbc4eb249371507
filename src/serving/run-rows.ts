import type { BatchPredictor } from '../engine/tasks/batch-predictor.js'
import type { InferenceOutputs, InferenceRows } from '../pool/inference-protocol.js'

/**
 * Runs a batch of rows through a model; stops between steps once Date.now() passes
 * `deadline` (PredictionStoppedError). Used by the inference workers, and by the main thread
 * for predictions so cheap that the hop to a worker would cost more than they do.
 * `onReleased` runs when the batch grew the model's working memory so much that the
 * predictor dropped it (see BatchPredictor.release).
 */
export function runRows(predictor: BatchPredictor, rows: InferenceRows, deadline: number, onReleased: () => void = () => undefined): InferenceOutputs {
  try {
    return run(predictor, rows, () => Date.now() > deadline)
  } finally {
    // A large batch's workspaces are not kept while the model waits in the cache.
    if (predictor.release()) onReleased()
  }
}

function run(predictor: BatchPredictor, rows: InferenceRows, shouldStop: () => boolean): InferenceOutputs {
  switch (rows.kind) {
    case 'pairs': return { kind: 'pairs', outputs: predictor.mapSequences(rows.inputs) }
    case 'classes': return { kind: 'classes', probabilities: predictor.classify(rows.inputs) }
    case 'text': return { kind: 'text', outputs: predictor.generate(rows.prompts, rows.options, shouldStop) }
    case 'series': return { kind: 'series', forecasts: predictor.forecast(rows.histories, rows.horizons, shouldStop) }
  }
}
