/**
 * The matrix multiplies of every kernel set and precision against a float64 reference: every
 * edge shape, offsets, leading dimensions, both accumulate modes, untouched memory outside C.
 */
import t from 'tap'
import { createBackend } from '../../src/engine/backend/select.js'
import type { Backend, Gemm } from '../../src/engine/backend/types.js'
import { wasmKernelsAvailable } from '../../src/engine/backend/wasm.js'
import { gemmNN, gemmNT, gemmTN } from '../../src/engine/kernels/gemm.js'

type Kind = 'NT' | 'NN' | 'TN'

const BACKENDS: Backend[] = [
  createBackend('float64', 'js'), createBackend('float32', 'js'),
  createBackend('float64', 'wasm'), createBackend('float32', 'wasm'),
]
const label = (be: Backend): string => `${be.kernels} ${be.dtype}`
const kernelOf = (be: Backend, kind: Kind): Gemm => kind === 'NT' ? be.gemmNT : kind === 'NN' ? be.gemmNN : be.gemmTN

t.test('this runtime runs the WebAssembly SIMD kernels (so the wasm cases below are not js in disguise)', async (t) => {
  t.ok(wasmKernelsAvailable())
  t.same(BACKENDS.map((be) => be.kernels), ['js', 'js', 'wasm', 'wasm'])
})

// Small deterministic generator so a failing case can be replayed.
function lcg(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 4294967296
  }
}

/** Stored shape of each operand: A is m×k (k×m for TN), B is n×k for NT, k×n otherwise. */
function operandShapes(kind: Kind, m: number, n: number, k: number): { aRows: number, aCols: number, bRows: number, bCols: number } {
  return {
    aRows: kind === 'TN' ? k : m, aCols: kind === 'TN' ? m : k,
    bRows: kind === 'NT' ? n : k, bCols: kind === 'NT' ? k : n,
  }
}

interface Case {
  kind: Kind
  m: number
  n: number
  k: number
  accumulate: boolean
  /** how much each leading dimension exceeds the row width, and the leading offsets */
  padA: number
  padB: number
  padC: number
  aOff: number
  bOff: number
  cOff: number
}

/**
 * Runs one case and returns a description of the first wrong element, or null.
 * Every element of C's buffer is checked: inside the m×n window against the reference, outside
 * it (offset, ld padding, tail) for being untouched. With accumulate=false the window starts as
 * NaN so any read of the old C shows up.
 */
function check(cs: Case, rnd: () => number, be: Backend): string | null {
  const { kind, m, n, k, accumulate } = cs
  const { aRows, aCols, bRows, bCols } = operandShapes(kind, m, n, k)
  const lda = aCols + cs.padA, ldb = bCols + cs.padB, ldc = n + cs.padC
  const a = be.floats(cs.aOff + aRows * lda + 3)
  const b = be.floats(cs.bOff + bRows * ldb + 3)
  const c = be.floats(cs.cOff + m * ldc + 3)
  for (let i = 0; i < a.length; i++) a[i] = rnd() * 2 - 1
  for (let i = 0; i < b.length; i++) b[i] = rnd() * 2 - 1
  for (let i = 0; i < c.length; i++) c[i] = rnd() * 2 - 1
  if (!accumulate) for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) c[cs.cOff + i * ldc + j] = NaN
  const before = c.slice()

  kernelOf(be, kind)(c, cs.cOff, ldc, a, cs.aOff, lda, b, cs.bOff, ldb, m, n, k, accumulate)
  // float32 sums round at every addition (the reference sums the same float32 inputs in float64).
  const relTol = be.dtype === 'float64' ? 1e-12 : (k + 2) * 1.2e-7

  const aAt = (i: number, p: number): number => kind === 'TN' ? a[cs.aOff + p * lda + i] : a[cs.aOff + i * lda + p]
  const bAt = (p: number, j: number): number => kind === 'NT' ? b[cs.bOff + j * ldb + p] : b[cs.bOff + p * ldb + j]
  const inWindow = new Uint8Array(c.length)
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const at = cs.cOff + i * ldc + j
      inWindow[at] = 1
      let sum = accumulate ? before[at] : 0
      let scale = accumulate ? Math.abs(before[at]) : 0
      for (let p = 0; p < k; p++) {
        const term = aAt(i, p) * bAt(p, j)
        sum += term
        scale += Math.abs(term)
      }
      // Blocking may regroup the additions; anything beyond rounding noise is a bug.
      if (!(Math.abs(c[at] - sum) <= relTol * scale)) return `C(${i},${j}) = ${c[at]}, expected ${sum}`
    }
  }
  for (let at = 0; at < c.length; at++) {
    if (!inWindow[at] && !Object.is(c[at], before[at])) return `C buffer[${at}] outside the window changed`
  }
  return null
}

function describe(cs: Case): string {
  return `${cs.kind} m=${cs.m} n=${cs.n} k=${cs.k} acc=${cs.accumulate} pad=${cs.padA}/${cs.padB}/${cs.padC} off=${cs.aOff}/${cs.bOff}/${cs.cOff}`
}

const kinds: Kind[] = ['NT', 'NN', 'TN']
// Sizes around the register blocks (4 rows, 3 or 8 columns) and their tails.
const edgeSizes = [0, 1, 2, 3, 4, 5, 7, 8, 9, 11, 13]

t.test('hand-computed 2×3 · 3×2 products', async (t) => {
  // A = [[1,2,3],[4,5,6]], B = [[7,8],[9,10],[11,12]]  ->  A·B = [[58,64],[139,154]]
  const A = new Float64Array([1, 2, 3, 4, 5, 6])
  const At = new Float64Array([1, 4, 2, 5, 3, 6])
  const B = new Float64Array([7, 8, 9, 10, 11, 12])
  const Bt = new Float64Array([7, 9, 11, 8, 10, 12])
  const expected = [58, 64, 139, 154]
  const c = new Float64Array(4)
  gemmNN(c, 0, 2, A, 0, 3, B, 0, 2, 2, 2, 3, false)
  t.same(Array.from(c), expected, 'gemmNN')
  c.fill(-1)
  gemmNT(c, 0, 2, A, 0, 3, Bt, 0, 3, 2, 2, 3, false)
  t.same(Array.from(c), expected, 'gemmNT')
  c.fill(-1)
  gemmTN(c, 0, 2, At, 0, 2, B, 0, 2, 2, 2, 3, false)
  t.same(Array.from(c), expected, 'gemmTN')
  gemmTN(c, 0, 2, At, 0, 2, B, 0, 2, 2, 2, 3, true)
  t.same(Array.from(c), expected.map((x) => 2 * x), 'gemmTN accumulate adds a second product')
})

for (const be of BACKENDS) for (const kind of kinds) {
  t.test(`${label(be)} gemm${kind}: every edge size combination, both accumulate modes, strided`, async (t) => {
    const rnd = lcg(kind.charCodeAt(0) * 31 + kind.charCodeAt(1))
    const failures: string[] = []
    let cases = 0
    for (const m of edgeSizes) for (const n of edgeSizes) for (const k of edgeSizes) {
      for (const accumulate of [false, true]) {
        const cs: Case = {
          kind, m, n, k, accumulate,
          padA: (m + n + k) % 3, padB: (m * 2 + k) % 4, padC: (n + k) % 3,
          aOff: (m + k) % 5, bOff: (n + 2) % 4, cOff: k % 3,
        }
        const err = check(cs, rnd, be)
        cases++
        if (err) failures.push(`${describe(cs)}: ${err}`)
      }
    }
    t.equal(cases, edgeSizes.length ** 3 * 2, 'ran every combination')
    t.same(failures.slice(0, 5), [], `no mismatches (${failures.length} failing cases)`)
  })

  t.test(`${label(be)} gemm${kind}: random shapes with offsets and ld > width`, async (t) => {
    const rnd = lcg(1234 + kind.charCodeAt(1))
    const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1))
    const failures: string[] = []
    for (let trial = 0; trial < 150; trial++) {
      const cs: Case = {
        kind, m: int(0, 40), n: int(0, 40), k: int(0, 70), accumulate: rnd() < 0.5,
        padA: int(0, 6), padB: int(0, 6), padC: int(0, 6), aOff: int(0, 9), bOff: int(0, 9), cOff: int(0, 9),
      }
      const err = check(cs, rnd, be)
      if (err) failures.push(`${describe(cs)}: ${err}`)
    }
    t.same(failures.slice(0, 5), [], `no mismatches (${failures.length} failing cases)`)
  })
}

for (const be of BACKENDS) t.test(`${label(be)} model-sized shapes (m = 1 path, k longer than one TN panel, head width 76)`, async (t) => {
  const rnd = lcg(99)
  const shapes: Array<[Kind, number, number, number]> = [
    ['NT', 1, 512, 128], ['NT', 33, 514, 130], ['NT', 64, 76, 128],
    ['NN', 1, 128, 512], ['NN', 34, 130, 514],
    ['TN', 193, 64, 800], ['TN', 76, 130, 1030],
  ]
  for (const [kind, m, n, k] of shapes) {
    for (const accumulate of [false, true]) {
      const cs: Case = { kind, m, n, k, accumulate, padA: 2, padB: 1, padC: 3, aOff: 5, bOff: 7, cOff: 3 }
      t.equal(check(cs, rnd, be), null, describe(cs))
    }
  }
})

for (const be of BACKENDS.filter((b) => b.kernels === 'wasm')) {
  t.test(`${label(be)}: operands outside the engine's memory (a caller's arrays) give the same result`, async (t) => {
    const rnd = lcg(7)
    const [m, n, k] = [6, 9, 11]
    const plain = (len: number) => {
      const x = be.dtype === 'float32' ? new Float32Array(len) : new Float64Array(len)
      for (let i = 0; i < len; i++) x[i] = rnd() * 2 - 1
      return x
    }
    const a = plain(m * k), b = plain(n * k), c = plain(m * n)
    const [ia, ib, ic] = [be.floats(m * k), be.floats(n * k), be.floats(m * n)]
    ia.set(a); ib.set(b); ic.set(c)
    be.gemmNT(c, 0, n, a, 0, k, b, 0, k, m, n, k, true)
    be.gemmNT(ic, 0, n, ia, 0, k, ib, 0, k, m, n, k, true)
    t.same(Array.from(c), Array.from(ic))
  })
}

for (const be of BACKENDS.filter((b) => b.kernels === 'wasm')) {
  t.test(`${label(be)} gemmNT beyond the cache (B > 512 KiB: row panels): right values, and each row as computed alone`, async (t) => {
    const rnd = lcg(2024)
    // Rows of 4800 bytes: panels of 52 rows, so 221 rows are 4 panels, 13 rows and a 1-row tail; B is 111 x 4800 = 520 KiB.
    const [m, n, k] = [221, 111, 4800 / (be.dtype === 'float32' ? 4 : 8)]
    for (const accumulate of [false, true]) {
      const cs: Case = { kind: 'NT', m, n, k, accumulate, padA: 0, padB: 0, padC: 2, aOff: 0, bOff: 4, cOff: 1 }
      t.equal(check(cs, rnd, be), null, describe(cs))
    }
    const a = be.floats(m * k), b = be.floats(n * k), c = be.floats(m * n), row = be.floats(n)
    for (const x of [a, b]) for (let i = 0; i < x.length; i++) x[i] = rnd() * 2 - 1
    be.gemmNT(c, 0, n, a, 0, k, b, 0, k, m, n, k, false)
    const differing: number[] = []
    for (const i of [0, 3, 51, 52, 103, 207, 208, 219, 220]) {
      be.gemmNT(row, 0, n, a, i * k, k, b, 0, k, 1, n, k, false)
      for (let j = 0; j < n; j++) if (!Object.is(row[j], c[i * n + j])) { differing.push(i); break }
    }
    t.same(differing, [], 'every row equals the same row computed alone, bit for bit')
  })
}
