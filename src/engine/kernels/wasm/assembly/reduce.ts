// @ts-nocheck  (AssemblyScript, not tsc)

/**
 * out[j] += sum over rows of m[r*cols + j] (bias gradients), L columns per vector; every column
 * is summed over the rows in order, exactly as the JavaScript loop does.
 */
export function columnSums<T>(out: usize, m: usize, rows: i32, cols: i32): void {
  const S = <usize>sizeof<T>()
  const L = 16 / <i32>sizeof<T>()
  const rowBytes = <usize>cols * S
  let j = 0
  for (; j + L <= cols; j += L) {
    const o = <usize>j * S
    let s = v128.load(out + o)
    let p = m + o
    for (let r = 0; r < rows; r++, p += rowBytes) s = v128.add<T>(s, v128.load(p))
    v128.store(out + o, s)
  }
  for (; j < cols; j++) {
    const o = <usize>j * S
    let s = load<T>(out + o)
    let p = m + o
    for (let r = 0; r < rows; r++, p += rowBytes) s += load<T>(p)
    store<T>(out + o, s)
  }
}
