// @ts-nocheck  (AssemblyScript, not tsc)

/**
 * out[j*ldo + i] = x[i*ldx + j] for i < rows, j < cols: packs a matrix's transpose so every
 * product runs as the NT kernel (dot products along contiguous rows). 8×8 tiles keep both the
 * rows read and the rows written in cache.
 */
export function transpose<T>(out: usize, ldo: i32, x: usize, ldx: i32, rows: i32, cols: i32): void {
  const S = <usize>sizeof<T>()
  const so = <usize>ldo * S, sx = <usize>ldx * S
  for (let i0 = 0; i0 < rows; i0 += 8) {
    const i1 = min(rows, i0 + 8)
    for (let j0 = 0; j0 < cols; j0 += 8) {
      const j1 = min(cols, j0 + 8)
      for (let i = i0; i < i1; i++) {
        const src = x + <usize>i * sx
        const dst = out + <usize>i * S
        for (let j = j0; j < j1; j++) store<T>(dst + <usize>j * so, load<T>(src + <usize>j * S))
      }
    }
  }
}
