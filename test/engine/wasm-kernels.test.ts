/**
 * The WebAssembly kernels beside their JavaScript references (src/engine/kernels/cells.ts,
 * losses.ts, optimizers/adam.ts) on the same operands: the backward cells and the Adam update
 * give the same bits in float64 (Adam in float32 too: it computes in float64 and rounds on the
 * store, as the JavaScript loop on a Float32Array does); float32 cells and the float32
 * cross-entropy stay within float32 rounding. Also: the module's static data (Math.log's
 * tables) is never handed out as a buffer, and views stay recognised when V8 replaces a shared
 * memory's buffer object because another memory of the thread grew.
 */
import t from 'tap'
import type { Floats } from '../../src/engine/backend/types.js'
import { WasmBackend } from '../../src/engine/backend/wasm.js'
import { gruCellBackward, gruHiddenGrad, lstmCellBackward } from '../../src/engine/kernels/cells.js'
import { JsBackend } from '../../src/engine/backend/js.js'
import { crossEntropy } from '../../src/engine/losses.js'
import { createOptimizer } from '../../src/engine/optimizers.js'
import { Rng } from '../../src/engine/rng.js'

type Dtype = 'float32' | 'float64'
const DTYPES: Dtype[] = ['float64', 'float32']

function filled(be: WasmBackend, n: number, rng: Rng, lo = -1, hi = 1): Floats {
  const x = be.floats(n)
  for (let i = 0; i < n; i++) x[i] = rng.uniform(lo, hi)
  return x
}

/** Plain typed-array copy of the same precision (outside the memory: the JavaScript kernel's operand). */
function copy(x: Floats): Floats {
  return x instanceof Float32Array ? Float32Array.from(x) : Float64Array.from(x)
}

/** Count of elements that differ (bitwise) and the largest difference relative to max(1, |ref|). */
function compare(ours: Floats, ref: Floats): { differing: number; worst: number } {
  let differing = 0
  let worst = 0
  for (let i = 0; i < ref.length; i++) {
    if (!Object.is(ours[i], ref[i])) differing++
    worst = Math.max(worst, Math.abs(ours[i] - ref[i]) / Math.max(1, Math.abs(ref[i])))
  }
  return { differing, worst }
}

for (const dtype of DTYPES) {
  t.test(`${dtype}: LSTM and GRU backward cells in WebAssembly ${dtype === 'float64' ? 'equal' : 'track'} the JavaScript cells`, async (t) => {
    const rng = new Rng(7)
    // H = 13 leaves a partial vector in both precisions; rows > 1 checks the row strides.
    const rows = 5
    const H = 13
    const be = new WasmBackend(dtype)
    // LSTM: gates hold activations in (0, 1) for i, f, o and (-1, 1) for g.
    const gates = filled(be, rows * 4 * H, rng, 0.01, 0.99)
    const tanhC = filled(be, rows * H, rng)
    const dm = filled(be, rows * H, rng)
    const dc = filled(be, rows * H, rng)
    const cPrev = filled(be, rows * H, rng)
    const dG = be.floats(rows * 4 * H)
    const ref = { dc: copy(dc), dG: copy(dG) }
    lstmCellBackward(rows, H, copy(gates), 0, copy(tanhC), 0, copy(dm), 0, ref.dc, 0, copy(cPrev), 0, ref.dG, 0)
    be.lstmCellBackward(rows, H, gates, 0, tanhC, 0, dm, 0, dc, 0, cPrev, 0, dG, 0)
    for (const [name, ours, want] of [['dG', dG, ref.dG], ['dc', dc, ref.dc]] as const) {
      const { differing, worst } = compare(ours, want)
      if (dtype === 'float64') t.equal(differing, 0, `LSTM ${name}: ${want.length} values bit for bit`)
      else t.ok(worst < 1e-6, `LSTM ${name}: max relative difference ${worst.toExponential(2)} < 1e-6`)
    }

    const gg = filled(be, rows * 3 * H, rng, 0.01, 0.99)
    const hn = filled(be, rows * H, rng)
    const hPrev = filled(be, rows * H, rng)
    const dh = filled(be, rows * H, rng)
    const gdG = be.floats(rows * 3 * H)
    const gdGh = be.floats(rows * 3 * H)
    const dhPrev = filled(be, rows * H, rng)
    const want = { dG: copy(gdG), dGh: copy(gdGh), dhPrev: copy(dhPrev) }
    gruCellBackward(rows, H, copy(gg), 0, copy(hn), 0, copy(hPrev), 0, copy(dh), 0, want.dG, want.dGh, 0)
    gruHiddenGrad(rows, H, want.dhPrev, copy(dh), 0, copy(gg), 0)
    be.gruCellBackward(rows, H, gg, 0, hn, 0, hPrev, 0, dh, 0, gdG, gdGh, 0)
    be.gruHiddenGrad(rows, H, dhPrev, dh, 0, gg, 0)
    for (const [name, ours, w] of [['dG', gdG, want.dG], ['dGh', gdGh, want.dGh], ['dhPrev', dhPrev, want.dhPrev]] as const) {
      const { differing, worst } = compare(ours, w)
      if (dtype === 'float64') t.equal(differing, 0, `GRU ${name}: ${w.length} values bit for bit`)
      else t.ok(worst < 1e-6, `GRU ${name}: max relative difference ${worst.toExponential(2)} < 1e-6`)
    }
  })

  t.test(`${dtype}: the Adam/AdamW kernel gives the JavaScript loop's bits`, async (t) => {
    const rng = new Rng(3)
    const n = 1001 // odd: the scalar last element
    const be = new WasmBackend(dtype)
    const options = [{ lr: 0.01 }, { lr: 0.05, weight_decay: 0.1 }, { lr: 0.02, amsgrad: true, maximize: true, betas: [0.3, 0.9] as [number, number] }]
    for (const name of ['adam', 'adamw'] as const) {
      for (const o of options) {
        const inMemory = createOptimizer(name, n, o, be)
        const plain = createOptimizer(name, n, o, dtype)
        const p = filled(be, n, rng)
        const g = be.floats(n)
        const pRef = copy(p)
        for (let step = 0; step < 5; step++) {
          for (let i = 0; i < n; i++) g[i] = rng.uniform(-0.1, 0.1)
          inMemory.step(p, g)
          plain.step(pRef, copy(g))
        }
        t.equal(compare(p, pRef).differing, 0, `${name} ${JSON.stringify(o)}: ${n} parameters after 5 steps bit for bit`)
        const a = inMemory.getState()
        const b = plain.getState()
        t.same(Object.keys(a.buffers).sort(), Object.keys(b.buffers).sort(), 'the same state buffers')
        for (const key of Object.keys(b.buffers)) t.equal(compare(a.buffers[key], b.buffers[key]).differing, 0, `state ${key} bit for bit`)
      }
    }
  })
}

for (const dtype of DTYPES) {
  t.test(`${dtype}: transpose, column sums, bias folding and one-hot gathers give the JavaScript kernels' bits`, async (t) => {
    const rng = new Rng(21)
    const be = new WasmBackend(dtype)
    const js = new JsBackend(dtype)
    // Ragged shapes: partial vectors and partial tiles on both axes.
    for (const [rows, cols] of [[1, 1], [3, 5], [9, 70], [66, 7], [130, 131]]) {
      const x = filled(be, rows * cols, rng)
      const out = be.floats(rows * cols)
      const want = copy(out)
      be.transpose(out, rows, x, cols, rows, cols)
      js.transpose(want, rows, copy(x), cols, rows, cols)
      t.equal(compare(out, want).differing, 0, `transpose ${rows}x${cols}`)
      const sums = filled(be, cols, rng)
      const wantSums = copy(sums)
      be.columnSums(sums, x, 0, rows, cols)
      js.columnSums(wantSums, copy(x), 0, rows, cols)
      t.equal(compare(sums, wantSums).differing, 0, `column sums ${rows}x${cols}`)
      const withBias = be.floats(rows * cols)
      withBias.set(x)
      const wantBias = copy(x)
      be.addRowBias(withBias, sums, rows, cols)
      js.addRowBias(wantBias, copy(sums), rows, cols)
      t.equal(compare(withBias, wantBias).differing, 0, `row bias ${rows}x${cols}`)
    }
    const a = filled(be, 37, rng)
    const b = filled(be, 40, rng)
    const sum = be.floats(37)
    const wantSum = copy(sum)
    be.addVectors(sum, a, 0, b, 3, 37)
    js.addVectors(wantSum, copy(a), 0, copy(b), 3, 37)
    t.equal(compare(sum, wantSum).differing, 0, 'vector sum with an offset')
    const G = 20
    const I = 7
    const w = filled(be, G * I, rng)
    const bias = filled(be, G, rng)
    const ids = Int32Array.of(3, -1, 6, 0)
    const gathered = be.floats(ids.length * G)
    const wantGathered = copy(gathered)
    be.gatherColumns(gathered, w, bias, ids, ids.length, G, I)
    js.gatherColumns(wantGathered, copy(w), copy(bias), ids, ids.length, G, I)
    t.equal(compare(gathered, wantGathered).differing, 0, 'one-hot columns of W_ih plus bias (an id < 0: bias alone)')
  })
}

t.test('float32: the cross-entropy kernel tracks losses.ts (loss and gradient), ignored rows, aliasing and errors', async (t) => {
  const rng = new Rng(11)
  const be = new WasmBackend('float32')
  for (const classes of [1, 3, 4, 7, 76]) {
    const rows = 9
    const logits = filled(be, rows * classes, rng, -6, 6)
    logits[0] = -0
    const targets = Int32Array.from({ length: rows }, (_, r) => (r === 2 ? -1 : Math.floor(rng.next() * classes)))
    const grad = be.floats(rows * classes)
    const refGrad = new Float64Array(rows * classes)
    const ref = crossEntropy(refGrad, Float64Array.from(logits), targets, rows, classes)
    const loss = be.crossEntropy(grad, logits, targets, rows, classes)
    t.ok(Math.abs(loss - ref) <= 1e-6 * Math.max(1, Math.abs(ref)), `classes=${classes}: loss ${loss} vs ${ref}`)
    const { worst } = compare(grad, refGrad)
    t.ok(worst < 1e-6, `classes=${classes}: gradient within ${worst.toExponential(2)} of float64`)
    t.ok(grad.subarray(2 * classes, 3 * classes).every((v) => v === 0), 'the ignored row has zero gradient')
    t.equal(be.crossEntropy(null, logits, targets, rows, classes), loss, 'without a gradient: the same loss')
    // The gradient may overwrite the logits (the row is read first).
    const alias = be.floats(rows * classes)
    alias.set(logits)
    t.equal(be.crossEntropy(alias, alias, targets, rows, classes), loss, 'grad = logits: the same loss')
    t.equal(compare(alias, grad).differing, 0, 'and the same gradient')
  }
  const logits = be.floats(8)
  logits.set([0, Infinity, 1, 2, -Infinity, -Infinity, -Infinity, -Infinity])
  const targets = Int32Array.of(1, 0)
  const want = crossEntropy(null, Float64Array.from(logits), targets, 2, 4)
  t.same(be.crossEntropy(null, logits, targets, 2, 4), want, `non-finite rows follow the reference's IEEE results (${want})`)
  t.throws(() => be.crossEntropy(null, logits, Int32Array.of(4, 0), 2, 4), /target 4 at row 0 is out of range for 4 classes/)
  t.throws(() => be.crossEntropy(null, logits, Int32Array.of(0), 2, 4), /1 targets for 2 rows/)
})

t.test('buffers never overlap the module\'s static data (Math.log\'s tables)', async (t) => {
  const be = new WasmBackend('float32')
  // Overwrite everything the allocator hands out; the kernels' tables must survive it.
  const junk = be.floats(4096)
  junk.fill(12345.678)
  const logits = be.floats(12)
  const rng = new Rng(5)
  for (let i = 0; i < logits.length; i++) logits[i] = rng.uniform(-2, 2)
  const targets = Int32Array.of(1, 0, 3)
  const ref = crossEntropy(null, Float64Array.from(logits), targets, 3, 4)
  const loss = be.crossEntropy(null, logits, targets, 3, 4)
  t.ok(Math.abs(loss - ref) < 1e-6, `loss ${loss} vs ${ref} after the buffers were overwritten`)
})

t.test('a memory growing in the same thread replaces other memories\' buffer objects; their views stay recognised', async (t) => {
  const a = new WasmBackend('float32')
  const before = a.floats(100)
  const bufferBefore = a.memory.buffer
  const b = new WasmBackend('float32')
  b.floats(4_000_000) // grows b's memory many pages
  // V8 refreshes every shared memory's buffer object at its next interrupt (a stack check).
  await new Promise((resolve) => setTimeout(resolve, 20))
  let spin = 0
  for (let i = 0; i < 1e6; i++) spin += i
  t.ok(spin > 0)
  const after = a.floats(100)
  t.comment(`a.memory.buffer replaced without growing a: ${a.memory.buffer !== bufferBefore} (a's size ${a.bytes} bytes)`)
  t.ok(a.owns(before), 'a view made before the refresh is a\'s')
  t.ok(a.owns(after), 'a view made after it is a\'s')
  t.notOk(b.owns(before), 'and not b\'s')
  t.notOk(a.owns(new Float32Array(100)), 'an ordinary array is not a\'s')
  // The kernels read both in place.
  before.fill(2)
  after.fill(3)
  const c = a.floats(1)
  a.gemmNT(c, 0, 1, before, 0, 100, after, 0, 100, 1, 1, 100, false)
  t.equal(c[0], 600, 'a product of a view from before and one from after')
})
