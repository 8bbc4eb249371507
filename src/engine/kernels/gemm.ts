// TEMPORARY naive placeholder written by the lead to test layers; helper-1 replaces this file.
export function gemmNT(c: Float64Array, cOff: number, ldc: number, a: Float64Array, aOff: number, lda: number, b: Float64Array, bOff: number, ldb: number, m: number, n: number, k: number, accumulate: boolean): void {
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0
    for (let p = 0; p < k; p++) s += a[aOff + i * lda + p] * b[bOff + j * ldb + p]
    c[cOff + i * ldc + j] = accumulate ? c[cOff + i * ldc + j] + s : s
  }
}
export function gemmNN(c: Float64Array, cOff: number, ldc: number, a: Float64Array, aOff: number, lda: number, b: Float64Array, bOff: number, ldb: number, m: number, n: number, k: number, accumulate: boolean): void {
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0
    for (let p = 0; p < k; p++) s += a[aOff + i * lda + p] * b[bOff + p * ldb + j]
    c[cOff + i * ldc + j] = accumulate ? c[cOff + i * ldc + j] + s : s
  }
}
export function gemmTN(c: Float64Array, cOff: number, ldc: number, a: Float64Array, aOff: number, lda: number, b: Float64Array, bOff: number, ldb: number, m: number, n: number, k: number, accumulate: boolean): void {
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0
    for (let p = 0; p < k; p++) s += a[aOff + p * lda + i] * b[bOff + p * ldb + j]
    c[cOff + i * ldc + j] = accumulate ? c[cOff + i * ldc + j] + s : s
  }
}
