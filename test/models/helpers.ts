/** Random (seeded) models of every task and architecture, for the export/import tests. */
import { type SequenceModelConfig, SequenceModel } from '../../src/engine/model.js'
import { Rng } from '../../src/engine/rng.js'
import type { ModelSpec } from '../../src/engine/tasks/spec.js'
import { type TaskMeta, modelConfigFor } from '../../src/engine/tasks/task.js'

export const TASK_METAS: Record<TaskMeta['kind'], TaskMeta> = {
  pairs: { kind: 'pairs', vocab: ['a', 'b', 'c', 'd', 'e'] },
  text: { kind: 'text', vocab: [' ', 'a', 'c', 'h', 't', '😀'], seq_len: 8 },
  classes: { kind: 'classes', vocab: ['0', '1', 'x', 'y'], labels: ['neg', 'neutral', 'pos'] },
  series: { kind: 'series', features: 2, multivariate: true, window: 6, horizon: 3, mean: [0.5, -2], std: [1.5, 0.25] },
}

export const MODEL_SPEC: ModelSpec = { type: 'rnn', hidden_size: 5, num_layers: 1, bidirectional: false, dropout: 0, nonlinearity: 'tanh', proj_size: 0 }

export interface TestModel {
  meta: TaskMeta
  model: SequenceModelConfig
  params: Float64Array
}

/** A model whose parameters are drawn from U(-0.6, 0.6) with `seed`. */
export function randomModel(kind: TaskMeta['kind'], spec: Partial<ModelSpec>, seed: number): TestModel {
  const meta = TASK_METAS[kind]
  const config = modelConfigFor(meta, { ...MODEL_SPEC, ...spec })
  const model = new SequenceModel(config)
  const rng = new Rng(seed)
  const params = new Float64Array(model.params.size)
  for (let i = 0; i < params.length; i++) params[i] = rng.uniform(-0.6, 0.6)
  return { meta, model: config, params }
}

export function describeSpec(kind: string, spec: Partial<ModelSpec>): string {
  const s = { ...MODEL_SPEC, ...spec }
  return `${kind} ${s.type}${s.type === 'rnn' ? `(${s.nonlinearity})` : ''} L=${s.num_layers}${s.bidirectional ? ' bidirectional' : ''}`
}
