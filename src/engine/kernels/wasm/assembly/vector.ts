// @ts-nocheck  (AssemblyScript, not tsc)

/** out[i] = a[i] + b[i] for i < n (folding the two gate biases). */
export function addVectors<T>(out: usize, a: usize, b: usize, n: i32): void {
  const S = <usize>sizeof<T>()
  const bytes = <usize>n * S
  let o: usize = 0
  for (; o + 16 <= bytes; o += 16) v128.store(out + o, v128.add<T>(v128.load(a + o), v128.load(b + o)))
  for (; o < bytes; o += S) store<T>(out + o, load<T>(a + o) + load<T>(b + o))
}

/** Every row of out [rows x cols] += bias (a Linear layer's bias). */
export function addRowBias<T>(out: usize, bias: usize, rows: i32, cols: i32): void {
  const S = <usize>sizeof<T>()
  const rowBytes = <usize>cols * S
  for (let r = 0; r < rows; r++) {
    const row = out + <usize>r * rowBytes
    addVectors<T>(row, row, bias, cols)
  }
}
