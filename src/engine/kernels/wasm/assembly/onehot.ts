// @ts-nocheck  (AssemblyScript, not tsc)

/**
 * One-hot inputs. gather: out row r = table row ids[r] + bias (bias alone for ids[r] < 0), the
 * input projection; scatterAdd: table row ids[r] += g row r (skipping ids[r] < 0), the weight
 * gradient accumulated transposed. Rows of G elements; each element sums its rows in order.
 */
export function gatherRows<T>(out: usize, table: usize, bias: usize, ids: usize, rows: i32, G: i32): void {
  const S = <usize>sizeof<T>()
  const L = 16 / <i32>sizeof<T>()
  const rowBytes = <usize>G * S
  for (let r = 0; r < rows; r++) {
    const id = load<i32>(ids + (<usize>r << 2))
    const o = out + <usize>r * rowBytes
    if (id < 0) {
      memory.copy(o, bias, rowBytes)
      continue
    }
    const src = table + <usize>id * rowBytes
    let j = 0
    for (; j + L <= G; j += L) {
      const b = <usize>j * S
      v128.store(o + b, v128.add<T>(v128.load(src + b), v128.load(bias + b)))
    }
    for (; j < G; j++) {
      const b = <usize>j * S
      store<T>(o + b, load<T>(src + b) + load<T>(bias + b))
    }
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
