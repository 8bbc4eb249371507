/**
 * An independent, deliberately plain re-implementation of torch.nn.RNN / LSTM / GRU and
 * Linear (batch of one, batch_first), written from PyTorch's documented equations. It
 * shares no code with the engine: the card tests rebuild a model from the card and the
 * safetensors file with it, the way a user would in PyTorch.
 */
type Vec = number[]
type Tensors = Map<string, { shape: number[]; data: Float64Array }>

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x))

function matvec(w: Float64Array, rows: number, cols: number, x: Vec, rowOffset = 0): Vec {
  const out: Vec = []
  for (let r = 0; r < rows; r++) {
    let s = 0
    for (let c = 0; c < cols; c++) s += w[(rowOffset + r) * cols + c] * x[c]
    out.push(s)
  }
  return out
}

export interface TorchState {
  h: Vec[]
  c: Vec[]
}

export class TorchRecurrent {
  readonly kind: string
  readonly H: number
  readonly L: number
  readonly D: number
  readonly proj: number
  readonly relu: boolean

  constructor(cls: string, kwargs: Record<string, unknown>, private readonly w: Tensors) {
    if (kwargs.batch_first !== true) throw new Error('expected batch_first')
    this.kind = cls
    this.H = kwargs.hidden_size as number
    this.L = kwargs.num_layers as number
    this.D = kwargs.bidirectional ? 2 : 1
    this.proj = (kwargs.proj_size as number | undefined) ?? 0
    this.relu = kwargs.nonlinearity === 'relu'
  }

  private t(name: string): Float64Array {
    const t = this.w.get(`rnn.${name}`)
    if (!t) throw new Error(`missing rnn.${name}`)
    return t.data
  }

  get hOut(): number {
    return this.proj > 0 ? this.proj : this.H
  }

  zeroState(): TorchState {
    const n = this.L * this.D
    return { h: Array.from({ length: n }, () => new Array(this.hOut).fill(0)), c: Array.from({ length: n }, () => new Array(this.H).fill(0)) }
  }

  private cell(sfx: string, x: Vec, h: Vec, c: Vec): { h: Vec; c: Vec } {
    const H = this.H
    const gates = this.kind === 'LSTM' ? 4 : this.kind === 'GRU' ? 3 : 1
    const wi = this.t(`weight_ih${sfx}`)
    const wh = this.t(`weight_hh${sfx}`)
    const bi = this.t(`bias_ih${sfx}`)
    const bh = this.t(`bias_hh${sfx}`)
    const gi = matvec(wi, gates * H, x.length, x).map((v, j) => v + bi[j])
    const gh = matvec(wh, gates * H, h.length, h).map((v, j) => v + bh[j])
    if (this.kind === 'RNN') {
      return { h: gi.map((v, j) => (this.relu ? Math.max(0, v + gh[j]) : Math.tanh(v + gh[j]))), c }
    }
    if (this.kind === 'GRU') {
      const r = Array.from({ length: H }, (_, j) => sigmoid(gi[j] + gh[j]))
      const z = Array.from({ length: H }, (_, j) => sigmoid(gi[H + j] + gh[H + j]))
      const n = Array.from({ length: H }, (_, j) => Math.tanh(gi[2 * H + j] + r[j] * gh[2 * H + j]))
      return { h: n.map((nj, j) => (1 - z[j]) * nj + z[j] * h[j]), c }
    }
    const g = gi.map((v, j) => v + gh[j])
    const cNew = Array.from({ length: H }, (_, j) => sigmoid(g[H + j]) * c[j] + sigmoid(g[j]) * Math.tanh(g[2 * H + j]))
    let hNew = cNew.map((cj, j) => sigmoid(g[3 * H + j]) * Math.tanh(cj))
    if (this.proj > 0) hNew = matvec(this.t(`weight_hr${sfx}`), this.proj, H, hNew)
    return { h: hNew, c: cNew }
  }

  /** output [seq][D*hOut] and the final state, like `output, (h_n, c_n) = rnn(x, state)`. */
  forward(xs: Vec[], state: TorchState = this.zeroState()): { output: Vec[]; state: TorchState } {
    let layerIn = xs
    const next: TorchState = { h: [], c: [] }
    for (let l = 0; l < this.L; l++) {
      const outs: Vec[][] = []
      for (let d = 0; d < this.D; d++) {
        const sfx = `_l${l}${d === 1 ? '_reverse' : ''}`
        let h = state.h[l * this.D + d]
        let c = state.c[l * this.D + d]
        const out: Vec[] = new Array(layerIn.length)
        const order = layerIn.map((_, i) => (d === 0 ? i : layerIn.length - 1 - i))
        for (const step of order) {
          ;({ h, c } = this.cell(sfx, layerIn[step], h, c))
          out[step] = h
        }
        outs.push(out)
        next.h[l * this.D + d] = h
        next.c[l * this.D + d] = c
      }
      layerIn = layerIn.map((_, s) => outs.flatMap((o) => o[s]))
    }
    return { output: layerIn, state: next }
  }
}

export function linear(w: Tensors, x: Vec): Vec {
  const weight = w.get('fc.weight')!
  const bias = w.get('fc.bias')!.data
  return matvec(weight.data, weight.shape[0], weight.shape[1], x).map((v, j) => v + bias[j])
}
