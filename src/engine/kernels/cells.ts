import type { Floats } from '../backend/types.js'

/**
 * The recurrent cells' element-wise step in plain JavaScript (Math.exp / Math.tanh in float64,
 * rounded once per store): the js kernels for both precisions and the wasm backend's float64
 * path. `rows` consecutive rows; gates and hg are [rows x G], the other operands [rows x H].
 */

/** LSTM (i, f, g, o): gates <- activations of gates + hg; c' = f*c + i*g; tanhC = tanh(c'); m = o*tanhC. */
export function lstmCell(rows: number, H: number, gates: Floats, gOff: number, hg: Floats, hgOff: number,
  cPrev: Floats, cPrevOff: number, cOut: Floats, cOutOff: number, tanhC: Floats, tcOff: number, m: Floats, mOff: number): void {
  const G = 4 * H
  for (let b = 0; b < rows; b++) {
    const gRow = gOff + b * G
    const hRow = hgOff + b * G
    const cp = cPrevOff + b * H
    const co = cOutOff + b * H
    const tc = tcOff + b * H
    const mo = mOff + b * H
    for (let j = 0; j < H; j++) {
      const i = 1 / (1 + Math.exp(-(gates[gRow + j] + hg[hRow + j])))
      const f = 1 / (1 + Math.exp(-(gates[gRow + H + j] + hg[hRow + H + j])))
      const g = Math.tanh(gates[gRow + 2 * H + j] + hg[hRow + 2 * H + j])
      const o = 1 / (1 + Math.exp(-(gates[gRow + 3 * H + j] + hg[hRow + 3 * H + j])))
      gates[gRow + j] = i
      gates[gRow + H + j] = f
      gates[gRow + 2 * H + j] = g
      gates[gRow + 3 * H + j] = o
      const c = f * cPrev[cp + j] + i * g
      const th = Math.tanh(c)
      cOut[co + j] = c
      tanhC[tc + j] = th
      m[mo + j] = o * th
    }
  }
}

/** GRU (r, z, n): r, z = σ(gates + hg); hn = hg_n + b_hn; n = tanh(gates_n + r*hn); h' = (1-z)*n + z*h. */
export function gruCell(rows: number, H: number, gates: Floats, gOff: number, hg: Floats, hgOff: number,
  bhn: Floats, bhnOff: number, hPrev: Floats, hPrevOff: number, hOut: Floats, hOutOff: number, hn: Floats, hnOff: number): void {
  const G = 3 * H
  for (let b = 0; b < rows; b++) {
    const gRow = gOff + b * G
    const hRow = hgOff + b * G
    const p = hPrevOff + b * H
    const o = hOutOff + b * H
    const row = hnOff + b * H
    for (let j = 0; j < H; j++) {
      const r = 1 / (1 + Math.exp(-(gates[gRow + j] + hg[hRow + j])))
      const z = 1 / (1 + Math.exp(-(gates[gRow + H + j] + hg[hRow + H + j])))
      const hnj = hg[hRow + 2 * H + j] + bhn[bhnOff + j]
      const n = Math.tanh(gates[gRow + 2 * H + j] + r * hnj)
      gates[gRow + j] = r
      gates[gRow + H + j] = z
      gates[gRow + 2 * H + j] = n
      hn[row + j] = hnj
      hOut[o + j] = (1 - z) * n + z * hPrev[p + j]
    }
  }
}

/**
 * LSTM backward step (gates hold the activations i, f, g, o): dct = dc + dm*o*(1 - tanhC²);
 * dc <- dct*f; dG = [dct*g*i(1-i), dct*cPrev*f(1-f), dct*i(1-g²), dm*tanhC*o(1-o)].
 * dm and dc are [rows x H] from row 0 of their buffers' offsets, like the forward operands.
 */
export function lstmCellBackward(rows: number, H: number, gates: Floats, gOff: number, tanhC: Floats, tcOff: number,
  dm: Floats, dmOff: number, dc: Floats, dcOff: number, cPrev: Floats, cpOff: number, dG: Floats, dGOff: number): void {
  const G = 4 * H
  for (let b = 0; b < rows; b++) {
    const gRow = gOff + b * G
    const dRow = dGOff + b * G
    const row = tcOff + b * H
    const cp = cpOff + b * H
    const r = dmOff + b * H
    const rc = dcOff + b * H
    for (let j = 0; j < H; j++) {
      const i = gates[gRow + j]
      const f = gates[gRow + H + j]
      const g = gates[gRow + 2 * H + j]
      const o = gates[gRow + 3 * H + j]
      const th = tanhC[row + j]
      const dmj = dm[r + j]
      const dct = dc[rc + j] + dmj * o * (1 - th * th)
      dc[rc + j] = dct * f
      dG[dRow + j] = dct * g * i * (1 - i)
      dG[dRow + H + j] = dct * cPrev[cp + j] * f * (1 - f)
      dG[dRow + 2 * H + j] = dct * i * (1 - g * g)
      dG[dRow + 3 * H + j] = dmj * th * o * (1 - o)
    }
  }
}

/**
 * GRU backward step (gates hold r, z, n; hn = W_hn h + b_hn of the step): dn = dh(1-z)(1-n²),
 * dr = dn*hn*r(1-r), dz = dh(h-n)z(1-z); dG = [dr, dz, dn] (input side), dGh = [dr, dz, dn*r]
 * (hidden side). hn, hPrev and dh are [rows x H]; gates, dG and dGh [rows x 3H].
 */
export function gruCellBackward(rows: number, H: number, gates: Floats, gOff: number, hn: Floats, hnOff: number,
  hPrev: Floats, hpOff: number, dh: Floats, dhOff: number, dG: Floats, dGh: Floats, dOff: number): void {
  const G = 3 * H
  for (let b = 0; b < rows; b++) {
    const gRow = gOff + b * G
    const dRow = dOff + b * G
    const row = hnOff + b * H
    const p = hpOff + b * H
    const r0 = dhOff + b * H
    for (let j = 0; j < H; j++) {
      const r = gates[gRow + j]
      const z = gates[gRow + H + j]
      const n = gates[gRow + 2 * H + j]
      const d = dh[r0 + j]
      const dnPre = d * (1 - z) * (1 - n * n)
      const drPre = dnPre * hn[row + j] * r * (1 - r)
      const dzPre = d * (hPrev[p + j] - n) * z * (1 - z)
      dG[dRow + j] = drPre
      dG[dRow + H + j] = dzPre
      dG[dRow + 2 * H + j] = dnPre
      dGh[dRow + j] = drPre
      dGh[dRow + H + j] = dzPre
      dGh[dRow + 2 * H + j] = dnPre * r
    }
  }
}

/** GRU: h' depends on h directly through z*h, so dhPrev += dh * z ([rows x H]; z from gates [rows x 3H]). */
export function gruHiddenGrad(rows: number, H: number, dhPrev: Floats, dh: Floats, hOff: number, gates: Floats, gOff: number): void {
  for (let b = 0; b < rows; b++) {
    const r0 = hOff + b * H
    const z = gOff + b * 3 * H + H
    for (let j = 0; j < H; j++) dhPrev[r0 + j] += dh[r0 + j] * gates[z + j]
  }
}

/** out[j] += sum over rows of m[mOff + r*cols + j], each column summed over the rows in order. */
export function columnSums(out: Floats, m: Floats, mOff: number, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = mOff + r * cols
    for (let j = 0; j < cols; j++) out[j] += m[o + j]
  }
}

export type LstmCell = typeof lstmCell
export type LstmCellBackward = typeof lstmCellBackward
export type ColumnSums = typeof columnSums
export type GruCell = typeof gruCell
export type GruCellBackward = typeof gruCellBackward
export type GruHiddenGrad = typeof gruHiddenGrad
