/**
 * Small POST /jobs bodies, one per task type, sized so a job trains in well under a second
 * on one worker thread. `with(base, patch)` merges a patch into a copy (objects deeply,
 * arrays and scalars replaced), for variants like "the tutorial with 30 epochs".
 */

export type JsonObject = Record<string, unknown>

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

export function withPatch<T extends JsonObject>(base: T, patch: JsonObject): T {
  const out: JsonObject = structuredClone(base)
  for (const [key, value] of Object.entries(patch)) {
    out[key] = isObject(value) && isObject(out[key]) ? withPatch(out[key] as JsonObject, value) : structuredClone(value)
  }
  return out as T
}

/** The tutorial: learn hello -> elloh with a tiny RNN. */
export function tutorialJob(patch: JsonObject = {}): JsonObject {
  return withPatch({
    name: 'greeter',
    model: { type: 'rnn', hidden_size: 8 },
    data: { type: 'pairs', pairs: [{ input: 'hello', target: 'elloh' }] },
    training: { epochs: 200, learning_rate: 0.1, batch_size: 1, seed: 0 },
  }, patch)
}

export const TEXT_CORPUS = 'the cat sat on the mat. the cat ate the rat. '.repeat(4)

/** A next-character model of a short repetitive text. */
export function textJob(patch: JsonObject = {}): JsonObject {
  return withPatch({
    name: 'poet',
    model: { type: 'lstm', hidden_size: 16 },
    data: { type: 'text', text: TEXT_CORPUS, seq_len: 12 },
    training: { epochs: 40, learning_rate: 0.02, batch_size: 4, seed: 1 },
  }, patch)
}

/** A sine wave sampled 8 times per period: the next value follows from the last few. */
export function sineSeries(points: number, amplitude = 1, offset = 0): number[] {
  return Array.from({ length: points }, (_, i) => offset + amplitude * Math.sin((2 * Math.PI * i) / 8))
}

export function seriesJob(patch: JsonObject = {}): JsonObject {
  return withPatch({
    name: 'forecaster',
    model: { type: 'gru', hidden_size: 12 },
    data: { type: 'series', series: sineSeries(96, 5, 10), window: 8, horizon: 3 },
    training: { epochs: 60, learning_rate: 0.02, batch_size: 8, seed: 2 },
  }, patch)
}

/** Two classes any model tells apart: strings of a's and strings of b's. */
export function classesJob(patch: JsonObject = {}): JsonObject {
  const examples = [
    ...['aaa', 'aaaa', 'aa', 'aaaaa', 'aaaaaa', 'a'].map((input) => ({ input, label: 'as' })),
    ...['bbb', 'bbbb', 'bb', 'bbbbb', 'bbbbbb', 'b'].map((input) => ({ input, label: 'bs' })),
  ]
  return withPatch({
    name: 'sorter',
    model: { type: 'rnn', hidden_size: 8 },
    data: { type: 'classes', examples },
    training: { epochs: 40, learning_rate: 0.05, batch_size: 4, seed: 3 },
  }, patch)
}

/**
 * A job that trains for minutes unless stopped: a checkpoint every epoch, so a test can
 * wait for one and then cancel or inspect a job that is really running.
 */
export function longJob(patch: JsonObject = {}): JsonObject {
  return withPatch({
    name: 'marathon',
    model: { type: 'lstm', hidden_size: 16 },
    data: { type: 'text', text: 'abcdefghij'.repeat(60), seq_len: 16 },
    training: { epochs: 100_000, learning_rate: 0.01, batch_size: 4, checkpoint_every: 1 },
  }, patch)
}
