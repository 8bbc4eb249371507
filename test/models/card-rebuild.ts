/**
 * What a user does with a model card and the safetensors file, in TypeScript: parse the file
 * by its published layout, build the PyTorch modules the card names (torch-reference.ts),
 * and predict by the card's rules. Mirrors the README's PyTorch script.
 */
import { createHash } from 'node:crypto'
import { TorchRecurrent, linear } from './torch-reference.js'

export interface Card {
  task: 'pairs' | 'text' | 'series' | 'classes'
  architecture: { rnn: { class: string; kwargs: Record<string, unknown> }; fc: { kwargs: { in_features: number; out_features: number } } }
  vocabulary?: { tokens: string[] }
  labels?: { names: string[] }
  series?: { window: number; horizon: number; mean: number[]; std: number[]; features: number }
  weights: { sha256?: string; tensors_sha256: string }
}

export interface ParsedSafetensors {
  header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>
  metadata: Record<string, string>
  tensors: Map<string, { shape: number[]; data: Float64Array }>
  dataSha256: string
}

export function parseSafetensors(bytes: Uint8Array): ParsedSafetensors {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const n = Number(view.getBigUint64(0, true))
  const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8'))
  const metadata = header.__metadata__
  delete header.__metadata__
  const tensors = new Map<string, { shape: number[]; data: Float64Array }>()
  for (const [name, e] of Object.entries(header as ParsedSafetensors['header'])) {
    if (e.dtype !== 'F64') throw new Error(`${name}: expected F64, got ${e.dtype}`)
    const [a, b] = e.data_offsets
    const data = new Float64Array((b - a) / 8)
    for (let i = 0; i < data.length; i++) data[i] = view.getFloat64(8 + n + a + i * 8, true)
    tensors.set(name, { shape: e.shape, data })
  }
  return { header, metadata, tensors, dataSha256: createHash('sha256').update(bytes.subarray(8 + n)).digest('hex') }
}

export class RebuiltModel {
  readonly rnn: TorchRecurrent

  constructor(readonly card: Card, private readonly tensors: ParsedSafetensors['tensors']) {
    this.rnn = new TorchRecurrent(card.architecture.rnn.class, card.architecture.rnn.kwargs, tensors)
  }

  private oneHot(ids: number[]): number[][] {
    const V = this.card.vocabulary!.tokens.length
    return ids.map((id) => Array.from({ length: V }, (_, j) => (j === id ? 1 : 0)))
  }

  private ids(text: string): number[] {
    const tokens = this.card.vocabulary!.tokens
    return [...text].map((c) => tokens.indexOf(c))
  }

  private finalState(xs: number[][]): number[] {
    const { state } = this.rnn.forward(xs)
    const D = this.rnn.D
    return state.h.slice(-D).flat()
  }

  private argmax(v: number[]): number {
    return v.reduce((best, x, j) => (x > v[best] ? j : best), 0)
  }

  mapSequence(input: string): string {
    const tokens = this.card.vocabulary!.tokens
    return this.rnn.forward(this.oneHot(this.ids(input))).output.map((o) => tokens[this.argmax(linear(this.tensors, o))]).join('')
  }

  generateGreedy(prompt: string, length: number): string {
    const tokens = this.card.vocabulary!.tokens
    let { output, state } = this.rnn.forward(this.oneHot(this.ids(prompt)))
    let out = ''
    for (let i = 0; i < length; i++) {
      const next = this.argmax(linear(this.tensors, output.at(-1)!))
      out += tokens[next]
      ;({ output, state } = this.rnn.forward(this.oneHot([next]), state))
    }
    return out
  }

  classify(input: string): Record<string, number> {
    const logits = linear(this.tensors, this.finalState(this.oneHot(this.ids(input))))
    const m = Math.max(...logits)
    const e = logits.map((v) => Math.exp(v - m))
    const sum = e.reduce((a, b) => a + b, 0)
    return Object.fromEntries(this.card.labels!.names.map((name, j) => [name, e[j] / sum]))
  }

  forecast(rows: number[][], horizon = this.card.series!.horizon): number[][] {
    const { window, mean, std } = this.card.series!
    const z = rows.map((r) => r.map((v, f) => (v - mean[f]) / std[f]))
    const out: number[][] = []
    for (let i = 0; i < horizon; i++) {
      const y = linear(this.tensors, this.finalState(z.slice(-window)))
      z.push(y)
      out.push(y.map((v, f) => v * std[f] + mean[f]))
    }
    return out
  }
}
