import type { Floats } from '../backend/types.js'

/**
 * One-hot inputs in plain JavaScript (the wasm backend has SIMD versions). Rows of G values;
 * each element sums its rows in order.
 */

/** out row r = table row ids[r] + bias; bias alone where ids[r] < 0 (padding). The input projection. */
export function gatherRows(out: Floats, table: Floats, bias: Floats, ids: Int32Array, rows: number, G: number): void {
  for (let r = 0; r < rows; r++) {
    const id = ids[r]
    const o = r * G
    if (id < 0) {
      for (let g = 0; g < G; g++) out[o + g] = bias[g]
    } else {
      const src = id * G
      for (let g = 0; g < G; g++) out[o + g] = table[src + g] + bias[g]
    }
  }
}

/** table row ids[r] += g row r, skipping ids[r] < 0. The input weight gradient, transposed. */
export function scatterAddRows(table: Floats, g: Floats, ids: Int32Array, rows: number, G: number): void {
  for (let r = 0; r < rows; r++) {
    const id = ids[r]
    if (id < 0) continue
    const o = r * G
    const d = id * G
    for (let j = 0; j < G; j++) table[d + j] += g[o + j]
  }
}

/**
 * out row r = column ids[r] of w [G x I] + bias; bias alone where ids[r] < 0. The input
 * projection of a few rows (generation), reading W_ih in place instead of transposing it.
 */
export function gatherColumns(out: Floats, w: Floats, bias: Floats, ids: Int32Array, rows: number, G: number, I: number): void {
  for (let r = 0; r < rows; r++) {
    const id = ids[r]
    const o = r * G
    if (id < 0) for (let g = 0; g < G; g++) out[o + g] = bias[g]
    else for (let g = 0; g < G; g++) out[o + g] = w[g * I + id] + bias[g]
  }
}

export type GatherRows = typeof gatherRows
export type GatherColumns = typeof gatherColumns
export type ScatterAddRows = typeof scatterAddRows
