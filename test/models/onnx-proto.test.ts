import t from 'tap'
import onnxProto from 'onnx-proto'
import { exportOnnx } from '../../src/models/formats/onnx.js'
import { randomModel } from './helpers.js'

/**
 * Reads our hand-written protobuf back with onnx-proto, a decoder generated from the official
 * onnx.proto (independent of our encoder): field numbers, types, names, dynamic axes and the
 * attributes that make ONNX compute what PyTorch computes.
 */
const { onnx } = onnxProto

type Dim = { dimValue?: number | { toNumber(): number }; dimParam?: string }
const dims = (v: onnxProto.onnx.IValueInfoProto) => (v.type!.tensorType!.shape!.dim as Dim[]).map((d) => d.dimParam || Number(d.dimValue))
const num = (v: unknown) => Number(v)

t.test('a bidirectional 2-layer GRU language model with state, decoded by the official schema', async (t) => {
  const m = randomModel('text', { type: 'gru', num_layers: 2, bidirectional: true, hidden_size: 5 }, 3)
  const model = onnx.ModelProto.decode(exportOnnx(m, { state: true, producerVersion: '9.9.9', metadata: { card: '{"a":1}' } }))
  t.equal(num(model.irVersion), 7)
  t.same(model.opsetImport!.map((o) => [o.domain, num(o.version)]), [['', 14]])
  t.equal(model.producerName, 'seqserve')
  t.equal(model.producerVersion, '9.9.9')
  t.same(model.metadataProps!.map((p) => [p.key, p.value]), [['card', '{"a":1}']])
  const g = model.graph!
  t.same(g.input!.map((i) => [i.name, dims(i), i.type!.tensorType!.elemType]), [
    ['input', ['batch', 'seq', 6], onnx.TensorProto.DataType.FLOAT],
    ['h0', [4, 'batch', 5], onnx.TensorProto.DataType.FLOAT],
  ])
  t.same(g.output!.map((o) => [o.name, dims(o)]), [['logits', ['batch', 'seq', 6]], ['h_n', [4, 'batch', 5]]])
  const grus = g.node!.filter((n) => n.opType === 'GRU')
  t.equal(grus.length, 2, 'one GRU node per layer')
  for (const node of grus) {
    const attrs = Object.fromEntries(node.attribute!.map((a) => [a.name, a.type === onnx.AttributeProto.AttributeType.STRING ? Buffer.from(a.s!).toString() : num(a.i)]))
    t.same(attrs, { hidden_size: 5, direction: 'bidirectional', linear_before_reset: 1 })
  }
  const init = new Map(g.initializer!.map((i) => [i.name, i]))
  t.same(init.get('W_l0')!.dims!.map(num), [2, 15, 6], 'W: [directions, 3*hidden, input]')
  t.same(init.get('W_l1')!.dims!.map(num), [2, 15, 10], 'layer 2 reads both directions')
  t.same(init.get('B_l0')!.dims!.map(num), [2, 30], 'B: [directions, Wb + Rb]')
  t.equal(init.get('W_l0')!.dataType, onnx.TensorProto.DataType.FLOAT)
  t.equal(init.get('W_l0')!.rawData!.length, 2 * 15 * 6 * 4, 'raw float32 data')
  // Every node input is a graph input, an initializer, an earlier node's output or empty (optional).
  const known = new Set<string>([...g.input!.map((i) => i.name!), ...[...init.keys()].map(String), ''])
  for (const node of g.node!) {
    for (const i of node.input!) t.ok(known.has(i), `${node.name}: input ${JSON.stringify(i)} is defined before use`)
    for (const o of node.output!) known.add(o)
  }
  for (const o of g.output!) t.ok(known.has(o.name!), `output ${o.name} is produced`)
})

t.test('RNN activations per direction and LSTM gate reordering i,f,g,o -> i,o,f,c', async (t) => {
  const rnn = randomModel('classes', { type: 'rnn', nonlinearity: 'relu', bidirectional: true }, 4)
  const rnnNode = onnx.ModelProto.decode(exportOnnx(rnn, { state: false, producerVersion: 't', metadata: {} })).graph!.node!.find((n) => n.opType === 'RNN')!
  t.same(rnnNode.attribute!.find((a) => a.name === 'activations')!.strings!.map((s) => Buffer.from(s).toString()), ['Relu', 'Relu'])

  const lstm = randomModel('series', { type: 'lstm', hidden_size: 2 }, 5)
  const graph = onnx.ModelProto.decode(exportOnnx(lstm, { state: false, producerVersion: 't', metadata: {} })).graph!
  t.same(graph.output!.map((o) => [o.name, dims(o)]), [['forecast', ['batch', 2]]])
  const w = graph.initializer!.find((i) => i.name === 'W_l0')!
  const raw = Buffer.from(w.rawData!)
  const values = Array.from({ length: raw.length / 4 }, (_, i) => raw.readFloatLE(i * 4))
  // PyTorch rows: i (0,1) f (2,3) g (4,5) o (6,7); each row has 2 inputs, params start at weight_ih_l0.
  const torchRow = (r: number) => [0, 1].map((c) => Math.fround(lstm.params[r * 2 + c]))
  const onnxRows = [0, 1, 6, 7, 2, 3, 4, 5].map(torchRow).flat()
  t.same(values, onnxRows, 'ONNX W = [W_i; W_o; W_f; W_g]')
})
