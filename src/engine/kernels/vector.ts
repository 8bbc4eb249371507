import type { Floats } from '../backend/types.js'

/** Element-wise vector kernels in plain JavaScript (the wasm backend has SIMD versions with the same bits). */

/** out[i] = a[aOff + i] + b[bOff + i] for i < n. */
export function addVectors(out: Floats, a: Floats, aOff: number, b: Floats, bOff: number, n: number): void {
  for (let i = 0; i < n; i++) out[i] = a[aOff + i] + b[bOff + i]
}

/** Every row of out [rows x cols] += bias. */
export function addRowBias(out: Floats, bias: Floats, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols
    for (let j = 0; j < cols; j++) out[o + j] += bias[j]
  }
}

export type AddVectors = typeof addVectors
export type AddRowBias = typeof addRowBias
