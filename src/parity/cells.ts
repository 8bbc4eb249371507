import { toBatchFirst, toTimeMajor } from '../engine/layout.js'
import { Parameters } from '../engine/params.js'
import { type RecurrentConfig, outputHiddenSize, recurrentParamSpecs } from '../engine/recurrent/config.js'
import { Recurrent } from '../engine/recurrent/recurrent.js'
import { type CaseResult, Comparison, resultOf } from './compare.js'
import type { CellCase } from './fixture.js'

const TOLERANCE = 1e-5

export function cellName(c: CellCase, index: number): string {
  const parts = [`I=${c.input_size}`, `H=${c.hidden_size}`, `L=${c.num_layers}`]
  if (c.bidirectional) parts.push('bidirectional')
  if (c.proj_size) parts.push(`proj=${c.proj_size}`)
  return `cells[${index}] ${c.mode} (${parts.join(', ')})`
}

/** Forward outputs and every gradient of one recurrent module against PyTorch. */
export function checkCell(c: CellCase, index: number): CaseResult {
  const cmp = new Comparison(TOLERANCE)
  const name = cellName(c, index)
  try {
    if (c.batch_first === false) throw new Error('only batch_first cases are supported')
    const config: RecurrentConfig = {
      mode: c.mode,
      inputSize: c.input_size,
      hiddenSize: c.hidden_size,
      numLayers: c.num_layers,
      bidirectional: c.bidirectional,
      projSize: c.proj_size ?? 0,
      dropout: 0,
    }
    const params = new Parameters(recurrentParamSpecs(config))
    params.loadStateDict(c.params)
    const rnn = new Recurrent(config, params)
    const [B, T, I] = c.x.shape
    const width = rnn.outputWidth
    const x = new Float64Array(T * B * I)
    toTimeMajor(x, c.x.data, B, T, I)
    const h0 = c.h0 ? Float64Array.from(c.h0.data) : null
    const c0 = c.c0 ? Float64Array.from(c.c0.data) : null
    const out = rnn.forward({ T, B, input: { kind: 'dense', data: x }, lengths: null, h0, c0, training: false, rng: null })

    const output = new Float64Array(B * T * width)
    toBatchFirst(output, out, T, B, width)
    cmp.tensor('output', output, c.outputs.output.data)
    const states = c.num_layers * rnn.D * B
    cmp.tensor('h_n', rnn.hN.subarray(0, states * outputHiddenSize(config)), c.outputs.h_n.data)
    if (c.outputs.c_n) cmp.tensor('c_n', rnn.cN.subarray(0, states * c.hidden_size), c.outputs.c_n.data)

    if (c.grads) {
      let dOut: Float64Array | null = null
      if (c.g_output) {
        dOut = new Float64Array(T * B * width)
        toTimeMajor(dOut, c.g_output.data, B, T, width)
      }
      const dHn = c.g_h_n ? Float64Array.from(c.g_h_n.data) : null
      const dCn = c.g_c_n ? Float64Array.from(c.g_c_n.data) : null
      params.zeroGrad()
      const dxTime = rnn.backward(dOut, dHn, dCn, true)
      for (const [key, ref] of Object.entries(c.grads)) {
        if (key === 'x') {
          const dx = new Float64Array(B * T * I)
          toBatchFirst(dx, dxTime!, T, B, I)
          cmp.tensor('grad x', dx, ref.data)
        } else if (key === 'h0') {
          cmp.tensor('grad h0', rnn.dH0.subarray(0, ref.data.length), ref.data)
        } else if (key === 'c0') {
          cmp.tensor('grad c0', rnn.dC0.subarray(0, ref.data.length), ref.data)
        } else {
          cmp.tensor(`grad ${key}`, params.gradView(key), ref.data)
        }
      }
    }
  } catch (err) {
    cmp.fail(`error: ${(err as Error).message}`)
  }
  return resultOf(name, cmp)
}
