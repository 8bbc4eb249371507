import fs from 'node:fs'
import path from 'node:path'
import { createHash } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { readError, startServer } from '../helpers/server.js'

/**
 * Models crossing between PyTorch and seqserve, against PyTorch's own outputs
 * (test/fixtures/torch_models.json, written by make_torch_models.py):
 * - RNN, LSTM and GRU models trained in PyTorch (pairs and text), imported through the API
 *   as JSON and as float32 safetensors, predict (greedy) exactly the strings PyTorch predicts;
 * - seqserve's own safetensors exports, which PyTorch rebuilt from their card alone, predict
 *   in seqserve what PyTorch predicted from them.
 */
const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures')
const fixture = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'torch_models.json'), 'utf8'))

const server = await startServer(t)

async function json<T = any>(p: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const response = await server.fetch(p, init)
  return { status: response.status, body: (await response.json()) as T }
}
const importJson = (name: string, body: unknown) => json(`/models/${name}/versions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
const importFile = (name: string, bytes: Uint8Array) => json(`/models/${name}/versions`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bytes })
const predictMany = (query: string, inputs: string[], extra: Record<string, unknown> = {}) =>
  json('/predict', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: query, inputs, ...extra }) })

t.test('models trained in PyTorch predict, once imported, exactly what PyTorch predicts', async (t) => {
  t.equal(fixture.imports.length, 6, 'rnn, lstm and gru; pairs and text')
  for (const c of fixture.imports) {
    const viaJson = await importJson(c.name, { card: c.card, state_dict: c.state_dict })
    t.equal(viaJson.status, 201, `${c.name}: JSON import ${JSON.stringify(viaJson.body).slice(0, 200)}`)
    const viaFile = await importFile(c.name, Buffer.from(c.safetensors_base64, 'base64'))
    t.equal(viaFile.status, 201, `${c.name}: float32 safetensors import ${JSON.stringify(viaFile.body).slice(0, 200)}`)
    for (const version of [viaJson.body.version, viaFile.body.version]) {
      if (c.task === 'pairs') {
        const inputs = c.predictions.map((p: any) => p.input)
        const r = await json(`/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: c.name, version, inputs }) })
        t.equal(r.status, 200)
        t.same(r.body.predictions.map((p: any) => p.output), c.predictions.map((p: any) => p.output), `${c.name} v${version}: ${inputs.length} inputs map as in PyTorch`)
      } else {
        for (const g of c.generations) {
          const r = await json(`/predict?model=${c.name}&version=${version}&input=${encodeURIComponent(g.prompt)}&length=${g.length}&temperature=0`)
          t.equal(r.status, 200)
          t.equal(r.body.output, g.output, `${c.name} v${version}: greedy continuation of ${JSON.stringify(g.prompt)} as in PyTorch`)
        }
      }
    }
  }
})

t.test('seqserve safetensors exports predict what PyTorch predicts after rebuilding them from the card alone', async (t) => {
  t.ok(fixture.seqserve_exports.length >= 2)
  for (const c of fixture.seqserve_exports) {
    const bytes = fs.readFileSync(path.join(FIXTURES, 'seqserve_exports', c.file))
    t.equal(createHash('sha256').update(bytes).digest('hex'), c.sha256, `${c.file}: the very file PyTorch loaded`)
    const name = `export-${c.task}`
    const imported = await importFile(name, bytes)
    t.equal(imported.status, 201, JSON.stringify(imported.body).slice(0, 200))
    const r = await predictMany(name, c.predictions.map((p: any) => p.input))
    t.equal(r.status, 200)
    r.body.predictions.forEach((got: any, i: number) => {
      const want = c.predictions[i]
      if (c.task === 'pairs') {
        t.equal(got.output, want.output, `${c.file}: ${JSON.stringify(want.input)}`)
      } else {
        t.equal(got.label, want.label, `${c.file}: ${JSON.stringify(want.input)} label`)
        for (const [label, p] of Object.entries(want.probabilities as Record<string, number>)) {
          t.ok(Math.abs(got.probabilities[label] - p) <= 1e-12, `${c.file}: ${JSON.stringify(want.input)} P(${label}) ${got.probabilities[label]} vs PyTorch ${p}`)
        }
      }
    })
    // What seqserve exports today is still what PyTorch loaded: same tensors, same model definition.
    const exported = new Uint8Array(await (await server.fetch(`/models/${name}/versions/${imported.body.version}/weights?format=safetensors`)).arrayBuffer())
    const card = (await json(`/models/${name}/versions/${imported.body.version}/model`)).body
    const original = JSON.parse(JSON.parse(headerOf(bytes)).__metadata__.card)
    t.equal(card.weights.tensors_sha256, original.weights.tensors_sha256, `${c.file}: re-exported tensors are bit-identical`)
    t.same(card.architecture, original.architecture, `${c.file}: the same architecture in the card`)
    const embedded = JSON.parse(JSON.parse(headerOf(exported)).__metadata__.card)
    t.same([embedded.task, embedded.vocabulary, embedded.labels], [original.task, original.vocabulary, original.labels], `${c.file}: the same task, vocabulary and labels in the re-exported file`)
  }
})

t.test('an import whose tensors do not fit the card names the tensor', async (t) => {
  const c = fixture.imports.find((x: any) => x.name === 'gru-text')
  const { 'fc.bias': _dropped, ...partial } = c.state_dict
  const missing = await readError(t, await server.fetch('/models/broken/versions', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ card: c.card, state_dict: partial }),
  }), { statusCode: 400, code: 'invalid_model', error: 'Bad Request' })
  t.match(missing.message, /missing fc\.bias/)
})

function headerOf(bytes: Uint8Array): string {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true))
  return new TextDecoder().decode(bytes.subarray(8, 8 + length))
}
