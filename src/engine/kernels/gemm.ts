/**
 * Dense matrix multiply kernels (row-major, BLAS-style leading dimensions, output first).
 *
 *   gemmNT: C[m×n] (+)= A[m×k] · B[n×k]^T   a(i,p) = a[aOff + i*lda + p], b(j,p) = b[bOff + j*ldb + p]
 *   gemmNN: C[m×n] (+)= A[m×k] · B[k×n]     a(i,p) = a[aOff + i*lda + p], b(p,j) = b[bOff + p*ldb + j]
 *   gemmTN: C[m×n] (+)= A[k×m]^T · B[k×n]   a(p,i) = a[aOff + p*lda + i], b(p,j) = b[bOff + p*ldb + j]
 *
 * c(i,j) = c[cOff + i*ldc + j]. accumulate=false overwrites C (its old contents are never read),
 * true adds into C. Only the m×n window of C is written. Arguments are not validated: this is the
 * innermost loop of training, and an out-of-range index reads undefined and shows up as NaN.
 *
 * Why the code looks like this (measured on the 2-core AMD EPYC host, Node 20 / V8 11.3; numbers
 * from scripts/bench-gemm.ts):
 * - TurboFan spends ~7 instructions on every typed-array load (index add + overflow check, sign
 *   extension, bounds check, data-pointer add, load) against 2 per multiply-add, so the kernels
 *   are instruction-bound and the lever is multiply-adds per load. A 4×3 register block (12
 *   accumulators, 7 loads per 12 multiply-adds) is the sweet spot, ~6.5 GFLOP/s against ~5.9 for
 *   4×4 and ~2 for a naive loop: 4×4 and larger blocks spill accumulators (x64 has 16 xmm
 *   registers, and TurboFan schedules all products of an iteration before the adds).
 * - Unrolling k was slower (more live values, more spills); packing panels into contiguous scratch
 *   buffers and |0 index hints gained nothing; Float32Array storage is no faster than Floats
 *   at these sizes (every load gains a float->double conversion); float32 engines still use
 *   these loops on Float32Array storage (accumulating in float64, rounding once per store).
 * - A single output row (m = 1, matrix-vector, and the m % 4 leftover rows) uses a 1×8 strip:
 *   8 accumulators share each load of the vector element (~5.5 GFLOP/s against ~4.4 when m = 1
 *   fell through to 1×3 blocks).
 * - gemmTN steps through A and B with strides lda/ldb; k is cut into KC_TN-long panels so the
 *   rows one register block touches stay cached (the weight-gradient shapes have k ~ 1000).
 * - With an interrupt check (../interrupt.ts), rows of C are computed in pieces of about
 *   POLL_WORK multiply-adds (whole 4-row strips; gemmTN also per k panel) with a poll between
 *   them: the same loops in the same order, so the same bits as one uninterrupted call.
 */

import type { Floats } from '../backend/types.js'
import { type Interrupt, pollInterrupt, rowsPerPoll } from '../interrupt.js'

const KC_TN = 256

export function gemmNT(c: Floats, cOff: number, ldc: number,
  a: Floats, aOff: number, lda: number,
  b: Floats, bOff: number, ldb: number,
  m: number, n: number, k: number, accumulate: boolean, interrupt: Interrupt | null = null): void {
  const chunk = interrupt === null ? m : rowsPerPoll(n * k, 4)
  for (let i0 = 0; i0 < m; i0 += chunk) {
    if (i0 > 0) pollInterrupt(interrupt)
    const i1 = Math.min(m, i0 + chunk)
    let i = i0
    for (; i + 4 <= i1; i += 4) {
      ntStrip4(c, cOff + i * ldc, ldc, a, aOff + i * lda, lda, b, bOff, ldb, n, k, accumulate)
    }
    for (; i < i1; i++) ntRow(c, cOff + i * ldc, a, aOff + i * lda, b, bOff, ldb, n, k, accumulate)
  }
}

/** Four rows of C from four rows of A; columns in blocks of 3, leftovers one at a time. */
function ntStrip4(c: Floats, c0: number, ldc: number, a: Floats, a0: number, lda: number,
  b: Floats, bOff: number, ldb: number, n: number, k: number, accumulate: boolean): void {
  const a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda
  const c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc
  let j = 0
  for (; j + 3 <= n; j += 3) {
    const b0 = bOff + j * ldb, b1 = b0 + ldb, b2 = b1 + ldb
    let s00 = 0, s01 = 0, s02 = 0, s10 = 0, s11 = 0, s12 = 0
    let s20 = 0, s21 = 0, s22 = 0, s30 = 0, s31 = 0, s32 = 0
    for (let p = 0; p < k; p++) {
      const x0 = a[a0 + p], x1 = a[a1 + p], x2 = a[a2 + p], x3 = a[a3 + p]
      const y0 = b[b0 + p], y1 = b[b1 + p], y2 = b[b2 + p]
      s00 += x0 * y0; s01 += x0 * y1; s02 += x0 * y2
      s10 += x1 * y0; s11 += x1 * y1; s12 += x1 * y2
      s20 += x2 * y0; s21 += x2 * y1; s22 += x2 * y2
      s30 += x3 * y0; s31 += x3 * y1; s32 += x3 * y2
    }
    store4x3(c, c0 + j, c1 + j, c2 + j, c3 + j, accumulate,
      s00, s01, s02, s10, s11, s12, s20, s21, s22, s30, s31, s32)
  }
  for (; j < n; j++) {
    const b0 = bOff + j * ldb
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0
    for (let p = 0; p < k; p++) {
      const y = b[b0 + p]
      s0 += a[a0 + p] * y; s1 += a[a1 + p] * y; s2 += a[a2 + p] * y; s3 += a[a3 + p] * y
    }
    store4x1(c, c0 + j, c1 + j, c2 + j, c3 + j, accumulate, s0, s1, s2, s3)
  }
}

/** One row of C (also the m = 1 matrix-vector path): 8 dot products sharing each load of a. */
function ntRow(c: Floats, c0: number, a: Floats, a0: number,
  b: Floats, bOff: number, ldb: number, n: number, k: number, accumulate: boolean): void {
  let j = 0
  for (; j + 8 <= n; j += 8) {
    const b0 = bOff + j * ldb, b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb
    const b4 = b3 + ldb, b5 = b4 + ldb, b6 = b5 + ldb, b7 = b6 + ldb
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0
    for (let p = 0; p < k; p++) {
      const x = a[a0 + p]
      s0 += x * b[b0 + p]; s1 += x * b[b1 + p]; s2 += x * b[b2 + p]; s3 += x * b[b3 + p]
      s4 += x * b[b4 + p]; s5 += x * b[b5 + p]; s6 += x * b[b6 + p]; s7 += x * b[b7 + p]
    }
    store1x8(c, c0 + j, accumulate, s0, s1, s2, s3, s4, s5, s6, s7)
  }
  for (; j < n; j++) {
    const b0 = bOff + j * ldb
    let s = 0
    for (let p = 0; p < k; p++) s += a[a0 + p] * b[b0 + p]
    c[c0 + j] = accumulate ? c[c0 + j] + s : s
  }
}

export function gemmNN(c: Floats, cOff: number, ldc: number,
  a: Floats, aOff: number, lda: number,
  b: Floats, bOff: number, ldb: number,
  m: number, n: number, k: number, accumulate: boolean, interrupt: Interrupt | null = null): void {
  const chunk = interrupt === null ? m : rowsPerPoll(n * k, 4)
  for (let i0 = 0; i0 < m; i0 += chunk) {
    if (i0 > 0) pollInterrupt(interrupt)
    const i1 = Math.min(m, i0 + chunk)
    let i = i0
    for (; i + 4 <= i1; i += 4) {
      nnStrip4(c, cOff + i * ldc, ldc, a, aOff + i * lda, lda, b, bOff, ldb, n, k, accumulate)
    }
    for (; i < i1; i++) nnRow(c, cOff + i * ldc, a, aOff + i * lda, 1, b, bOff, ldb, n, k, accumulate)
  }
}

function nnStrip4(c: Floats, c0: number, ldc: number, a: Floats, a0: number, lda: number,
  b: Floats, bOff: number, ldb: number, n: number, k: number, accumulate: boolean): void {
  const a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda
  const c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc
  let j = 0
  for (; j + 3 <= n; j += 3) {
    let s00 = 0, s01 = 0, s02 = 0, s10 = 0, s11 = 0, s12 = 0
    let s20 = 0, s21 = 0, s22 = 0, s30 = 0, s31 = 0, s32 = 0
    let pb = bOff + j
    for (let p = 0; p < k; p++, pb += ldb) {
      const x0 = a[a0 + p], x1 = a[a1 + p], x2 = a[a2 + p], x3 = a[a3 + p]
      const y0 = b[pb], y1 = b[pb + 1], y2 = b[pb + 2]
      s00 += x0 * y0; s01 += x0 * y1; s02 += x0 * y2
      s10 += x1 * y0; s11 += x1 * y1; s12 += x1 * y2
      s20 += x2 * y0; s21 += x2 * y1; s22 += x2 * y2
      s30 += x3 * y0; s31 += x3 * y1; s32 += x3 * y2
    }
    store4x3(c, c0 + j, c1 + j, c2 + j, c3 + j, accumulate,
      s00, s01, s02, s10, s11, s12, s20, s21, s22, s30, s31, s32)
  }
  for (; j < n; j++) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0
    let pb = bOff + j
    for (let p = 0; p < k; p++, pb += ldb) {
      const y = b[pb]
      s0 += a[a0 + p] * y; s1 += a[a1 + p] * y; s2 += a[a2 + p] * y; s3 += a[a3 + p] * y
    }
    store4x1(c, c0 + j, c1 + j, c2 + j, c3 + j, accumulate, s0, s1, s2, s3)
  }
}

/**
 * One row of C from one A vector whose elements sit `strideA` apart (1 for gemmNN's row of A,
 * lda for gemmTN's column of A): 8 columns of B at a time share each load of the vector element.
 */
function nnRow(c: Floats, c0: number, a: Floats, a0: number, strideA: number,
  b: Floats, bOff: number, ldb: number, n: number, k: number, accumulate: boolean): void {
  let j = 0
  for (; j + 8 <= n; j += 8) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0
    let pa = a0, pb = bOff + j
    for (let p = 0; p < k; p++, pa += strideA, pb += ldb) {
      const x = a[pa]
      s0 += x * b[pb]; s1 += x * b[pb + 1]; s2 += x * b[pb + 2]; s3 += x * b[pb + 3]
      s4 += x * b[pb + 4]; s5 += x * b[pb + 5]; s6 += x * b[pb + 6]; s7 += x * b[pb + 7]
    }
    store1x8(c, c0 + j, accumulate, s0, s1, s2, s3, s4, s5, s6, s7)
  }
  for (; j < n; j++) {
    let s = 0
    let pa = a0, pb = bOff + j
    for (let p = 0; p < k; p++, pa += strideA, pb += ldb) s += a[pa] * b[pb]
    c[c0 + j] = accumulate ? c[c0 + j] + s : s
  }
}

export function gemmTN(c: Floats, cOff: number, ldc: number,
  a: Floats, aOff: number, lda: number,
  b: Floats, bOff: number, ldb: number,
  m: number, n: number, k: number, accumulate: boolean, interrupt: Interrupt | null = null): void {
  if (k === 0) {
    if (!accumulate) zero(c, cOff, ldc, m, n)
    return
  }
  const chunk = interrupt === null ? m : rowsPerPoll(n * KC_TN, 4)
  for (let p0 = 0; p0 < k; p0 += KC_TN) {
    const kc = Math.min(KC_TN, k - p0)
    const acc = accumulate || p0 > 0
    const aP = aOff + p0 * lda, bP = bOff + p0 * ldb
    for (let i0 = 0; i0 < m; i0 += chunk) {
      if (p0 > 0 || i0 > 0) pollInterrupt(interrupt)
      const i1 = Math.min(m, i0 + chunk)
      let i = i0
      for (; i + 4 <= i1; i += 4) tnStrip4(c, cOff + i * ldc, ldc, a, aP + i, lda, b, bP, ldb, n, kc, acc)
      for (; i < i1; i++) nnRow(c, cOff + i * ldc, a, aP + i, lda, b, bP, ldb, n, kc, acc)
    }
  }
}

/** Four rows of C from four adjacent columns of A (a0 = column i at the panel's first k). */
function tnStrip4(c: Floats, c0: number, ldc: number, a: Floats, a0: number, lda: number,
  b: Floats, bOff: number, ldb: number, n: number, k: number, accumulate: boolean): void {
  const c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc
  let j = 0
  for (; j + 3 <= n; j += 3) {
    let s00 = 0, s01 = 0, s02 = 0, s10 = 0, s11 = 0, s12 = 0
    let s20 = 0, s21 = 0, s22 = 0, s30 = 0, s31 = 0, s32 = 0
    let pa = a0, pb = bOff + j
    for (let p = 0; p < k; p++, pa += lda, pb += ldb) {
      const x0 = a[pa], x1 = a[pa + 1], x2 = a[pa + 2], x3 = a[pa + 3]
      const y0 = b[pb], y1 = b[pb + 1], y2 = b[pb + 2]
      s00 += x0 * y0; s01 += x0 * y1; s02 += x0 * y2
      s10 += x1 * y0; s11 += x1 * y1; s12 += x1 * y2
      s20 += x2 * y0; s21 += x2 * y1; s22 += x2 * y2
      s30 += x3 * y0; s31 += x3 * y1; s32 += x3 * y2
    }
    store4x3(c, c0 + j, c1 + j, c2 + j, c3 + j, accumulate,
      s00, s01, s02, s10, s11, s12, s20, s21, s22, s30, s31, s32)
  }
  for (; j < n; j++) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0
    let pa = a0, pb = bOff + j
    for (let p = 0; p < k; p++, pa += lda, pb += ldb) {
      const y = b[pb]
      s0 += a[pa] * y; s1 += a[pa + 1] * y; s2 += a[pa + 2] * y; s3 += a[pa + 3] * y
    }
    store4x1(c, c0 + j, c1 + j, c2 + j, c3 + j, accumulate, s0, s1, s2, s3)
  }
}

function zero(c: Floats, cOff: number, ldc: number, m: number, n: number): void {
  for (let i = 0; i < m; i++) c.fill(0, cOff + i * ldc, cOff + i * ldc + n)
}

function store4x3(c: Floats, r0: number, r1: number, r2: number, r3: number, accumulate: boolean,
  s00: number, s01: number, s02: number, s10: number, s11: number, s12: number,
  s20: number, s21: number, s22: number, s30: number, s31: number, s32: number): void {
  if (accumulate) {
    c[r0] += s00; c[r0 + 1] += s01; c[r0 + 2] += s02
    c[r1] += s10; c[r1 + 1] += s11; c[r1 + 2] += s12
    c[r2] += s20; c[r2 + 1] += s21; c[r2 + 2] += s22
    c[r3] += s30; c[r3 + 1] += s31; c[r3 + 2] += s32
  } else {
    c[r0] = s00; c[r0 + 1] = s01; c[r0 + 2] = s02
    c[r1] = s10; c[r1 + 1] = s11; c[r1 + 2] = s12
    c[r2] = s20; c[r2 + 1] = s21; c[r2 + 2] = s22
    c[r3] = s30; c[r3 + 1] = s31; c[r3 + 2] = s32
  }
}

function store4x1(c: Floats, r0: number, r1: number, r2: number, r3: number, accumulate: boolean,
  s0: number, s1: number, s2: number, s3: number): void {
  if (accumulate) {
    c[r0] += s0; c[r1] += s1; c[r2] += s2; c[r3] += s3
  } else {
    c[r0] = s0; c[r1] = s1; c[r2] = s2; c[r3] = s3
  }
}

function store1x8(c: Floats, r: number, accumulate: boolean, s0: number, s1: number, s2: number,
  s3: number, s4: number, s5: number, s6: number, s7: number): void {
  if (accumulate) {
    c[r] += s0; c[r + 1] += s1; c[r + 2] += s2; c[r + 3] += s3
    c[r + 4] += s4; c[r + 5] += s5; c[r + 6] += s6; c[r + 7] += s7
  } else {
    c[r] = s0; c[r + 1] = s1; c[r + 2] = s2; c[r + 3] = s3
    c[r + 4] = s4; c[r + 5] = s5; c[r + 6] = s6; c[r + 7] = s7
  }
}
