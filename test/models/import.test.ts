import t from 'tap'
import { Predictor } from '../../src/engine/tasks/predictor.js'
import { buildArtifacts, stateTensors } from '../../src/models/artifacts.js'
import { encodeSafetensors } from '../../src/models/formats/safetensors.js'
import { ImportError, importFromJson, importFromSafetensors, largestImportParams, modelFromCard } from '../../src/models/import.js'
import type { TapTest } from '../helpers/server.js'
import { randomModel } from './helpers.js'

const LIMITS = { maxHiddenSize: 64, maxNumLayers: 3 }

function exported(kind: Parameters<typeof randomModel>[0], spec: Parameters<typeof randomModel>[1], seed: number) {
  const m = randomModel(kind, spec, seed)
  const source = {
    ...m, dtype: 'float64' as const, name: 'm', epoch: 1, loss: 1, bestLoss: 1, valLosses: [],
    job: { kind: 'job' as const, id: 'j', status: 'succeeded', createdAt: null, finishedAt: null, training: null, dataSummary: null },
  }
  const { card, safetensors } = buildArtifacts(source)
  const stateDict = Object.fromEntries(stateTensors(m.model, m.params).map((x) => [x.name, { shape: x.shape, data: Array.from(x.data) }]))
  return { m, card: JSON.parse(JSON.stringify(card)) as Record<string, any>, safetensors, stateDict }
}

t.test('an exported card and its weights import back to the same model (JSON and safetensors)', async (t) => {
  for (const [kind, spec] of [['pairs', { type: 'lstm', num_layers: 2 }], ['text', { type: 'gru', bidirectional: true }], ['classes', { type: 'rnn', nonlinearity: 'relu' }], ['series', { type: 'lstm', proj_size: 2 }]] as const) {
    const { m, card, safetensors, stateDict } = exported(kind, spec, 11)
    for (const imported of [importFromJson({ card, state_dict: stateDict }, LIMITS), importFromSafetensors(safetensors, LIMITS)]) {
      t.same(imported.meta, m.meta, `${kind}: task metadata`)
      t.same(imported.model, m.model, `${kind}: architecture`)
      t.same(Array.from(imported.params), Array.from(m.params), `${kind}: weights`)
    }
  }
})

t.test('a minimal card: only what defines the model', async (t) => {
  const card = { task: 'text', architecture: { rnn: { class: 'torch.nn.GRU', kwargs: { input_size: 3, hidden_size: 4 } } }, vocabulary: { tokens: ['b', 'a', '😀'] } }
  const { meta, model } = modelFromCard(card, LIMITS)
  t.same(meta, { kind: 'text', vocab: ['b', 'a', '😀'], seq_len: 32 }, 'the token order is kept as given')
  t.match(model, { mode: 'gru', inputSize: 3, hiddenSize: 4, numLayers: 1, bidirectional: false, outputSize: 3, head: 'every_step' })
  const series = modelFromCard({ task: 'series', architecture: { rnn: { class: 'LSTM', kwargs: { input_size: 2, hidden_size: 4 } } }, series: { mean: [0, 1], std: [1, 2], window: 5 } }, LIMITS)
  t.same(series.meta, { kind: 'series', features: 2, multivariate: true, window: 5, horizon: 1, mean: [0, 1], std: [1, 2] })
})

t.test('float32 safetensors (what PyTorch saves by default) import and predict', async (t) => {
  const { m, card } = exported('pairs', { type: 'rnn' }, 3)
  const f32 = encodeSafetensors(stateTensors(m.model, m.params), { card: JSON.stringify(card) }, 'F32')
  const imported = importFromSafetensors(f32, LIMITS)
  const maxDiff = Math.max(...Array.from(imported.params, (v, i) => Math.abs(v - m.params[i])))
  t.ok(maxDiff < 1e-7 && maxDiff > 0, `float32 rounding only (${maxDiff.toExponential(2)})`)
  t.equal(new Predictor(imported).mapSequence('abcde').length, 5)
})

function rejects(t: TapTest, call: () => unknown, pattern: RegExp, where: Record<string, string>) {
  try {
    call()
    t.fail(`expected an ImportError matching ${pattern}`)
  } catch (err) {
    t.ok(err instanceof ImportError, 'an ImportError')
    t.match((err as Error).message, pattern)
    t.same((err as ImportError).where, where, `names ${JSON.stringify(where)}`)
  }
}

t.test('errors name the offending tensor or card field', async (t) => {
  const { card, stateDict } = exported('classes', { type: 'lstm', num_layers: 2 }, 4)
  const { ['rnn.weight_hh_l1']: _dropped, ...missing } = stateDict
  rejects(t, () => importFromJson({ card, state_dict: missing }, LIMITS), /missing rnn\.weight_hh_l1 \(shape \[20, 5\]\)/, { tensor: 'rnn.weight_hh_l1' })
  rejects(t, () => importFromJson({ card, state_dict: { ...stateDict, 'rnn.weight_ih_l2': stateDict['rnn.weight_ih_l1'] } }, LIMITS), /"rnn\.weight_ih_l2", which this model does not have/, { tensor: 'rnn.weight_ih_l2' })
  rejects(t, () => importFromJson({ card, state_dict: { ...stateDict, 'fc.weight': { shape: [3, 4], data: new Array(12).fill(0) } } }, LIMITS), /fc\.weight has shape \[3,4\]; this card's architecture needs \[3, 5\]/, { tensor: 'fc.weight' })
  const nan = { ...stateDict, 'fc.bias': { shape: [3], data: [0, null, 0] } }
  rejects(t, () => importFromJson({ card, state_dict: nan }, LIMITS), /fc\.bias\[1\] is null, not a finite number/, { tensor: 'fc.bias' })
  rejects(t, () => importFromJson({ card: { ...card, labels: { names: ['x', 'x', 'y'] } }, state_dict: stateDict }, LIMITS), /lists "x" twice/, { field: 'card.labels.names' })
  const wide = { ...card, architecture: { ...card.architecture, rnn: { class: 'LSTM', kwargs: { ...card.architecture.rnn.kwargs, hidden_size: 65 } } } }
  rejects(t, () => importFromJson({ card: wide, state_dict: stateDict }, LIMITS), /hidden_size must be an integer from 1 to 64 \(MAX_HIDDEN_SIZE\)/, { field: 'card.architecture.rnn.kwargs.hidden_size' })
  const wrongInput = { ...card, architecture: { ...card.architecture, rnn: { class: 'LSTM', kwargs: { ...card.architecture.rnn.kwargs, input_size: 7 } } } }
  rejects(t, () => importFromJson({ card: wrongInput, state_dict: stateDict }, LIMITS), /input_size is 7 but the model reads the 4 tokens/, { field: 'card.architecture.rnn.kwargs.input_size' })
  rejects(t, () => modelFromCard({ task: 'pairs', architecture: { rnn: { class: 'Transformer', kwargs: {} } } }, LIMITS), /"RNN", "LSTM" or "GRU"/, { field: 'card.architecture.rnn.class' })
  rejects(t, () => modelFromCard({ task: 'pairs', architecture: { rnn: { class: 'GRU', kwargs: { input_size: 1, hidden_size: 2, bias: false } } }, vocabulary: { tokens: ['a'] } }, LIMITS), /bias is false/, { field: 'card.architecture.rnn.kwargs.bias' })
})

t.test('safetensors problems: dtype, truncation, missing card', async (t) => {
  const { m, card, safetensors } = exported('pairs', { type: 'gru' }, 6)
  rejects(t, () => importFromSafetensors(safetensors.subarray(0, safetensors.length - 8), LIMITS), /rnn\.weight_ih_l0|fc\.bias/, { tensor: 'fc.bias' })
  rejects(t, () => importFromSafetensors(encodeSafetensors(stateTensors(m.model, m.params), {}), LIMITS), /no "card"/, { field: '__metadata__.card' })
  const header = JSON.stringify({ __metadata__: { card: JSON.stringify(card) }, 'rnn.weight_ih_l0': { dtype: 'F16', shape: [1], data_offsets: [0, 2] } })
  const bytes = new Uint8Array(8 + header.length + 2)
  new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true)
  bytes.set(new TextEncoder().encode(header), 8)
  rejects(t, () => importFromSafetensors(bytes, LIMITS), /rnn\.weight_ih_l0 has dtype F16; only F32 and F64/, { tensor: 'rnn.weight_ih_l0' })
  rejects(t, () => importFromSafetensors(new Uint8Array([1, 0, 0]), LIMITS), /8-byte header length/, {})
})

t.test('the largest importable model is an LSTM at every limit', async (t) => {
  // H=64, L=3, two directions, 1024 tokens: layer 0 reads 1024, later layers 128.
  const G = 256
  const expected = 2 * G * (1024 + 64 + 2) + 2 * 2 * G * (128 + 64 + 2) + 1024 * 128 + 1024
  t.equal(largestImportParams(LIMITS), expected)
})
