/**
 * AssemblyScript source of the WebAssembly SIMD matrix multiplies (compiled by
 * scripts/build-kernels.ts). Generic over the element type T (f32 -> f32x4 lanes, f64 -> f64x2).
 * Pointers are byte addresses in the engine's memory, leading dimensions count elements,
 * layouts and `acc` are those of ../../gemm.ts.
 *
 * Summation order: every output element is summed in an order that depends only on k (never on
 * m, the row/batch count, nor on where the element falls in a register block), so a row of a
 * batched product equals the same row computed alone.
 * - NT (dot products along k): lane l accumulates p = l, l + L, ... over the whole vectors of k,
 *   then the lanes are added in a fixed tree, then the k % L leftover products in order.
 * NN and TN run as NT on packed transposes (../../../backend/wasm.ts): dot products along
 * contiguous rows measured 3-4x faster here than broadcasting along strided rows of B.
 */

// @ts-nocheck  (AssemblyScript, not tsc)

@inline function hsum<T>(v: v128): T {
  if (sizeof<T>() == 4) {
    return (v128.extract_lane<T>(v, 0) + v128.extract_lane<T>(v, 1)) + (v128.extract_lane<T>(v, 2) + v128.extract_lane<T>(v, 3))
  }
  return v128.extract_lane<T>(v, 0) + v128.extract_lane<T>(v, 1)
}

@inline function put<T>(p: usize, s: T, acc: bool): void {
  store<T>(p, acc ? load<T>(p) + s : s)
}

@inline function madd<T>(s: v128, x: v128, y: v128): v128 {
  return v128.add<T>(s, v128.mul<T>(x, y))
}

/** One dot product in the kernel's summation order (the leftover rows and columns). */
@inline function dot<T>(a: usize, b: usize, kvBytes: usize, k: i32): T {
  const S = <usize>sizeof<T>()
  let s = v128.splat<T>(0)
  for (let p: usize = 0; p < kvBytes; p += 16) s = madd<T>(s, v128.load(a + p), v128.load(b + p))
  let r = hsum<T>(s)
  for (let p = kvBytes; p < <usize>k * S; p += S) r += load<T>(a + p) * load<T>(b + p)
  return r
}

/** Rows of A kept in cache while all of B streams past them once (about a quarter of L2). */
const PANEL_BYTES: usize = 256 * 1024
/** A B this small stays in L2 across the row blocks: the plain order (A's 4 rows in L1) is faster then. */
const B_IN_CACHE_BYTES: usize = 512 * 1024

/** The 4×2 block: rows a0..a3 of A (stride sa) times rows b0, b1 of B into rows c0..c3 of C (stride sc) at byte column o. */
@inline function block4x2<T>(a0: usize, sa: usize, b0: usize, b1: usize, c0: usize, sc: usize, o: usize, kvBytes: usize, kBytes: usize, acc: bool): void {
  const S = <usize>sizeof<T>()
  const a1 = a0 + sa, a2 = a1 + sa, a3 = a2 + sa
  let s00 = v128.splat<T>(0), s01 = v128.splat<T>(0)
  let s10 = v128.splat<T>(0), s11 = v128.splat<T>(0)
  let s20 = v128.splat<T>(0), s21 = v128.splat<T>(0)
  let s30 = v128.splat<T>(0), s31 = v128.splat<T>(0)
  for (let p: usize = 0; p < kvBytes; p += 16) {
    const y0 = v128.load(b0 + p), y1 = v128.load(b1 + p)
    const x0 = v128.load(a0 + p)
    s00 = madd<T>(s00, x0, y0); s01 = madd<T>(s01, x0, y1)
    const x1 = v128.load(a1 + p)
    s10 = madd<T>(s10, x1, y0); s11 = madd<T>(s11, x1, y1)
    const x2 = v128.load(a2 + p)
    s20 = madd<T>(s20, x2, y0); s21 = madd<T>(s21, x2, y1)
    const x3 = v128.load(a3 + p)
    s30 = madd<T>(s30, x3, y0); s31 = madd<T>(s31, x3, y1)
  }
  let r00 = hsum<T>(s00), r01 = hsum<T>(s01), r10 = hsum<T>(s10), r11 = hsum<T>(s11)
  let r20 = hsum<T>(s20), r21 = hsum<T>(s21), r30 = hsum<T>(s30), r31 = hsum<T>(s31)
  for (let p = kvBytes; p < kBytes; p += S) {
    const y0 = load<T>(b0 + p), y1 = load<T>(b1 + p)
    const x0 = load<T>(a0 + p), x1 = load<T>(a1 + p), x2 = load<T>(a2 + p), x3 = load<T>(a3 + p)
    r00 += x0 * y0; r01 += x0 * y1; r10 += x1 * y0; r11 += x1 * y1
    r20 += x2 * y0; r21 += x2 * y1; r30 += x3 * y0; r31 += x3 * y1
  }
  const c1 = c0 + sc, c2 = c1 + sc, c3 = c2 + sc
  put<T>(c0 + o, r00, acc); put<T>(c0 + o + S, r01, acc)
  put<T>(c1 + o, r10, acc); put<T>(c1 + o + S, r11, acc)
  put<T>(c2 + o, r20, acc); put<T>(c2 + o + S, r21, acc)
  put<T>(c3 + o, r30, acc); put<T>(c3 + o + S, r31, acc)
}

/** One row of A times rows b0..b3 of B into C at byte address o. */
@inline function block1x4<T>(ai: usize, b0: usize, sb: usize, o: usize, kvBytes: usize, kBytes: usize, acc: bool): void {
  const S = <usize>sizeof<T>()
  const b1 = b0 + sb, b2 = b1 + sb, b3 = b2 + sb
  let s0 = v128.splat<T>(0), s1 = v128.splat<T>(0), s2 = v128.splat<T>(0), s3 = v128.splat<T>(0)
  for (let p: usize = 0; p < kvBytes; p += 16) {
    const x = v128.load(ai + p)
    s0 = madd<T>(s0, x, v128.load(b0 + p)); s1 = madd<T>(s1, x, v128.load(b1 + p))
    s2 = madd<T>(s2, x, v128.load(b2 + p)); s3 = madd<T>(s3, x, v128.load(b3 + p))
  }
  let r0 = hsum<T>(s0), r1 = hsum<T>(s1), r2 = hsum<T>(s2), r3 = hsum<T>(s3)
  for (let p = kvBytes; p < kBytes; p += S) {
    const x = load<T>(ai + p)
    r0 += x * load<T>(b0 + p); r1 += x * load<T>(b1 + p); r2 += x * load<T>(b2 + p); r3 += x * load<T>(b3 + p)
  }
  put<T>(o, r0, acc); put<T>(o + S, r1, acc); put<T>(o + 2 * S, r2, acc); put<T>(o + 3 * S, r3, acc)
}

/**
 * C[m×n] (+)= A[m×k] · B[n×k]^T: 4×2 blocks of dot products, vectors along k. Cache-aware: when B
 * is larger than L2 keeps (B_IN_CACHE_BYTES), A is cut into panels of rows that stay in cache
 * (PANEL_BYTES) and, per panel, each pair of B's rows is read once for all of the panel's row
 * blocks, so B streams from memory once per panel instead of once per 4 rows (measured 1.7x on
 * 1024-wide layers, scripts/bench-gemm.ts); a smaller B stays in L2 and the row blocks go one
 * at a time (A's 4 rows in L1). The blocking changes which products run together, never an
 * element's summation order.
 */
export function gemmNT<T>(c: usize, ldc: i32, a: usize, lda: i32, b: usize, ldb: i32, m: i32, n: i32, k: i32, acc: bool): void {
  const S = <usize>sizeof<T>()
  const L = 16 / <i32>sizeof<T>()
  const kvBytes = <usize>(k & ~(L - 1)) * S
  const kBytes = <usize>k * S
  const sa = <usize>lda * S, sb = <usize>ldb * S, sc = <usize>ldc * S
  const m4 = m & ~3
  const panel = <usize>n * kBytes <= B_IN_CACHE_BYTES ? 4 : max<i32>(4, <i32>(PANEL_BYTES / max<usize>(kBytes, 1)) & ~3)
  for (let i0 = 0; i0 < m4; i0 += panel) {
    const i1 = min<i32>(i0 + panel, m4)
    let j = 0
    for (; j + 2 <= n; j += 2) {
      const b0 = b + <usize>j * sb, b1 = b0 + sb
      const o = <usize>j * S
      for (let i = i0; i < i1; i += 4) block4x2<T>(a + <usize>i * sa, sa, b0, b1, c + <usize>i * sc, sc, o, kvBytes, kBytes, acc)
    }
    for (; j < n; j++) {
      const bj = b + <usize>j * sb
      const o = <usize>j * S
      for (let i = i0; i < i1; i++) put<T>(c + <usize>i * sc + o, dot<T>(a + <usize>i * sa, bj, kvBytes, k), acc)
    }
  }
  // The last m % 4 rows, one at a time against 4 rows of B.
  for (let i = m4; i < m; i++) {
    const ai = a + <usize>i * sa
    const ci = c + <usize>i * sc
    let j = 0
    for (; j + 4 <= n; j += 4) block1x4<T>(ai, b + <usize>j * sb, sb, ci + <usize>j * S, kvBytes, kBytes, acc)
    for (; j < n; j++) put<T>(ci + <usize>j * S, dot<T>(ai, b + <usize>j * sb, kvBytes, k), acc)
  }
}
