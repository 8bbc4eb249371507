// @ts-nocheck  (AssemblyScript, not tsc)
import { addVectors } from './vector'

/**
 * One-hot inputs. gather: out row r = table row ids[r] + bias (bias alone for ids[r] < 0), the
 * input projection; scatterAdd: table row ids[r] += g row r (skipping ids[r] < 0), the weight
 * gradient accumulated transposed. Rows of G elements; each element sums its rows in order.
 */
export function gatherRows<T>(out: usize, table: usize, bias: usize, ids: usize, rows: i32, G: i32): void {
  const S = <usize>sizeof<T>()
  const rowBytes = <usize>G * S
  for (let r = 0; r < rows; r++) {
    const id = load<i32>(ids + (<usize>r << 2))
    const o = out + <usize>r * rowBytes
    if (id < 0) {
      memory.copy(o, bias, rowBytes)
      continue
    }
    addVectors<T>(o, table + <usize>id * rowBytes, bias, G)
  }
}

export function scatterAddRows<T>(table: usize, g: usize, ids: usize, rows: i32, G: i32): void {
  const S = <usize>sizeof<T>()
  const L = 16 / <i32>sizeof<T>()
  const rowBytes = <usize>G * S
  for (let r = 0; r < rows; r++) {
    const id = load<i32>(ids + (<usize>r << 2))
    if (id < 0) continue
    const src = g + <usize>r * rowBytes
    const dst = table + <usize>id * rowBytes
    let j = 0
    for (; j + L <= G; j += L) {
      const b = <usize>j * S
      v128.store(dst + b, v128.add<T>(v128.load(dst + b), v128.load(src + b)))
    }
    for (; j < G; j++) {
      const b = <usize>j * S
      store<T>(dst + b, load<T>(dst + b) + load<T>(src + b))
    }
  }
}

/**
 * out row r = column ids[r] of w [G x I] + bias (bias alone for ids[r] < 0): the input
 * projection of a few one-hot rows (generation) without transposing W_ih first.
 */
export function gatherColumns<T>(out: usize, w: usize, bias: usize, ids: usize, rows: i32, G: i32, I: i32): void {
  const S = <usize>sizeof<T>()
  const rowBytes = <usize>G * S
  const colStride = <usize>I * S
  for (let r = 0; r < rows; r++) {
    const id = load<i32>(ids + (<usize>r << 2))
    const o = out + <usize>r * rowBytes
    if (id < 0) {
      memory.copy(o, bias, rowBytes)
      continue
    }
    let src = w + <usize>id * S
    for (let g: usize = 0; g < rowBytes; g += S, src += colStride) store<T>(o + g, load<T>(src) + load<T>(bias + g))
  }
}
