import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { CharBatchStream } from './char-batches.js'
import type { Corpus } from './corpus.js'
import { secondsSince, now } from './timing.js'
import { CHAR_LM_B, CHAR_LM_HIDDEN, CHAR_LM_T } from './workloads/w2.js'

/** W2 on TensorFlow.js: what `npm run bench -- W2 --compare --tfjs` sets beside seqserve and PyTorch. */
export interface TfjsW2Result {
  workload: 'W2'
  engine: string
  tokens_per_s: number
  loss_first: number
  loss_last: number
  seconds: number
}

/**
 * W2 (WORKLOADS.md: one-hot(V) -> LSTM(V, 128) -> Linear(128, V) on every step, mean
 * cross-entropy, Adam lr 0.002, T = B = 32, batches of seed 1234, 3 warm-up steps, 20 timed) on
 * TensorFlow.js 4.22 with its WebAssembly backend (XNNPACK, SIMD), single-threaded like the
 * other engines. The packages are dev dependencies (their .wasm files ship inside the npm
 * package: nothing is downloaded); they are loaded only when asked for.
 */
export async function runTfjsW2(corpus: Corpus, warmupSteps = 3, timedSteps = 20): Promise<TfjsW2Result> {
  // The CommonJS bundles: the union package registers the chained tensor ops tfjs-layers calls
  // (the ESM builds use directory imports Node refuses).
  const require = createRequire(import.meta.url)
  const tf = require('@tensorflow/tfjs') as typeof import('@tensorflow/tfjs')
  const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm')
  const tfl = tf
  wasm.setWasmPaths(join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/')
  // One thread, as every engine here: the threaded build would start workers.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false)
  if (!(await tf.setBackend('wasm'))) throw new Error('TensorFlow.js: the wasm backend did not start')
  await tf.ready()
  const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT')

  const V = corpus.vocabulary.length
  const T = CHAR_LM_T
  const B = CHAR_LM_B
  const model = tfl.sequential()
  model.add(tfl.layers.lstm({ units: CHAR_LM_HIDDEN, returnSequences: true, inputShape: [T, V] }))
  model.add(tfl.layers.timeDistributed({ layer: tfl.layers.dense({ units: V }) }))
  model.compile({
    optimizer: tf.train.adam(0.002),
    loss: (labels: unknown, logits: unknown) => tf.losses.softmaxCrossEntropy(labels as never, logits as never),
  })
  const batches = new CharBatchStream(corpus.ids, T, B, 1234).take(warmupSteps + timedSteps).map((b) => ({
    x: tf.oneHot(tf.tensor2d(b.inputs, [B, T], 'int32'), V).cast('float32'),
    y: tf.oneHot(tf.tensor2d(b.targets, [B, T], 'int32'), V).cast('float32'),
  }))
  const step = async (k: number) => Number(await model.trainOnBatch(batches[k].x, batches[k].y))
  let first = 0
  for (let k = 0; k < warmupSteps; k++) first = await step(k)
  const start = now()
  let last = 0
  for (let k = warmupSteps; k < warmupSteps + timedSteps; k++) last = await step(k)
  const seconds = secondsSince(start)
  return {
    workload: 'W2',
    engine: `TensorFlow.js ${tf.version_core} wasm${simd ? ' SIMD' : ''}, 1 thread`,
    tokens_per_s: (T * B * timedSteps) / seconds,
    loss_first: first,
    loss_last: last,
    seconds,
  }
}
