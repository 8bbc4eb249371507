// @ts-nocheck  (AssemblyScript, not tsc)

/**
 * out[j*ldo + i] = x[i*ldx + j] for i < rows, j < cols: packs a matrix's transpose so every
 * product runs as the NT kernel (dot products along contiguous rows). Whole L×L blocks (L = 4
 * f32 or 2 f64 lanes) move as vectors through a register transpose; the ragged edges element by
 * element. Column tiles of
 * TILE keep the output rows being written in cache across the row strips. Only moves values.
 */
/** Columns per tile. */
const TILE = 64

export function transpose<T>(out: usize, ldo: i32, x: usize, ldx: i32, rows: i32, cols: i32): void {
  const S = <usize>sizeof<T>()
  const L = 16 / <i32>S
  const so = <usize>ldo * S, sx = <usize>ldx * S
  const rowsV = rows & ~(L - 1), colsV = cols & ~(L - 1)
  // Column tiles: the output rows a tile writes stay in cache across consecutive row strips.
  for (let j0 = 0; j0 < colsV; j0 += TILE) {
    const j1 = min(colsV, j0 + TILE)
    for (let i0 = 0; i0 < rowsV; i0 += L) {
      const src = x + <usize>i0 * sx
      const dst = out + <usize>i0 * S
      for (let j = j0; j < j1; j += L) {
        const s = src + <usize>j * S
        const d = dst + <usize>j * so
        if (sizeof<T>() == 4) {
          const r0 = v128.load(s), r1 = v128.load(s + sx), r2 = v128.load(s + 2 * sx), r3 = v128.load(s + 3 * sx)
          // Lanes (r0 r1 interleaved) then 64-bit halves: the classic 4×4 shuffle transpose.
          const t0 = v128.shuffle<u32>(r0, r1, 0, 4, 1, 5), t1 = v128.shuffle<u32>(r2, r3, 0, 4, 1, 5)
          const t2 = v128.shuffle<u32>(r0, r1, 2, 6, 3, 7), t3 = v128.shuffle<u32>(r2, r3, 2, 6, 3, 7)
          v128.store(d, v128.shuffle<u64>(t0, t1, 0, 2))
          v128.store(d + so, v128.shuffle<u64>(t0, t1, 1, 3))
          v128.store(d + 2 * so, v128.shuffle<u64>(t2, t3, 0, 2))
          v128.store(d + 3 * so, v128.shuffle<u64>(t2, t3, 1, 3))
        } else {
          const r0 = v128.load(s), r1 = v128.load(s + sx)
          v128.store(d, v128.shuffle<u64>(r0, r1, 0, 2))
          v128.store(d + so, v128.shuffle<u64>(r0, r1, 1, 3))
        }
      }
    }
  }
  // The ragged edges: the last cols % L columns of the vector rows, then the last rows % L rows.
  for (let i = 0; i < rowsV; i++) {
    const si = x + <usize>i * sx
    const di = out + <usize>i * S
    for (let j = colsV; j < cols; j++) store<T>(di + <usize>j * so, load<T>(si + <usize>j * S))
  }
  for (let i = rowsV; i < rows; i++) {
    const si = x + <usize>i * sx
    const di = out + <usize>i * S
    for (let j = 0; j < cols; j++) store<T>(di + <usize>j * so, load<T>(si + <usize>j * S))
  }
}
