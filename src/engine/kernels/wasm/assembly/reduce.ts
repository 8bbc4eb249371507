// @ts-nocheck  (AssemblyScript, not tsc)

/** Column vectors summed per pass over the rows: 8 × 64 bytes of accumulators, whole cache lines. */
const BLOCK = 8

/**
 * out[j] += sum over rows of m[r*cols + j] (bias gradients), L columns per vector; every column
 * is summed over the rows in order, exactly as the JavaScript loop does. Passes over the rows
 * take BLOCK vectors of columns at a time, so each row is read as contiguous cache lines.
 */
export function columnSums<T>(out: usize, m: usize, rows: i32, cols: i32): void {
  const S = <usize>sizeof<T>()
  const L = 16 / <i32>S
  const rowBytes = <usize>cols * S
  let j = 0
  for (; j + BLOCK * L <= cols; j += BLOCK * L) {
    const o = out + <usize>j * S
    let s0 = v128.load(o), s1 = v128.load(o, 16), s2 = v128.load(o, 32), s3 = v128.load(o, 48)
    let s4 = v128.load(o, 64), s5 = v128.load(o, 80), s6 = v128.load(o, 96), s7 = v128.load(o, 112)
    let p = m + <usize>j * S
    for (let r = 0; r < rows; r++, p += rowBytes) {
      s0 = v128.add<T>(s0, v128.load(p)); s1 = v128.add<T>(s1, v128.load(p, 16))
      s2 = v128.add<T>(s2, v128.load(p, 32)); s3 = v128.add<T>(s3, v128.load(p, 48))
      s4 = v128.add<T>(s4, v128.load(p, 64)); s5 = v128.add<T>(s5, v128.load(p, 80))
      s6 = v128.add<T>(s6, v128.load(p, 96)); s7 = v128.add<T>(s7, v128.load(p, 112))
    }
    v128.store(o, s0); v128.store(o, s1, 16); v128.store(o, s2, 32); v128.store(o, s3, 48)
    v128.store(o, s4, 64); v128.store(o, s5, 80); v128.store(o, s6, 96); v128.store(o, s7, 112)
  }
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
