import type { FixtureTensor } from '../../src/parity/fixture.js'
import { assertClose as assertWithin, loadReference } from '../helpers/engine.js'
import t, { type Test } from 'tap'
import { crossEntropy, logSoftmax, mse, softmax } from '../../src/engine/losses.js'

type Tensor = FixtureTensor
const reference = loadReference()
/** |ours - ref| <= 1e-5 * max(1, |ref|) everywhere, the tolerance for these tensors. */
const assertClose = (t: Test, ours: ArrayLike<number>, ref: ArrayLike<number>, label: string) => assertWithin(t, ours, ref, 1e-5, label)

interface CrossEntropyCase {
  loss: 'cross_entropy'
  reduction?: string
  logits: Tensor
  targets: number[]
  ignore_index?: number
  value: number
  grad_logits: Tensor
}
interface MseCase {
  loss: 'mse'
  reduction?: string
  pred: Tensor
  target: Tensor
  value: number
  grad_pred: Tensor
}
type LossCase = CrossEntropyCase | MseCase | { loss: string; reduction?: string }

const cases = reference.losses as LossCase[]

t.test('fixture has loss cases', async (t) => {
  t.ok(Array.isArray(cases) && cases.length > 0)
})

cases.forEach((c, index) => {
  t.test(`torch parity #${index}: ${c.loss} (${c.reduction ?? 'mean'})`, async (t) => {
    t.equal(c.reduction ?? 'mean', 'mean', 'only mean reduction is implemented')
    if (c.loss === 'cross_entropy') {
      const ce = c as CrossEntropyCase
      const [rows, classes] = ce.logits.shape
      // Our ignore rule is "target < 0"; map PyTorch's ignore_index (default -100) onto it.
      const ignoreIndex = ce.ignore_index ?? -100
      const targets = Int32Array.from(ce.targets, (y) => (y === ignoreIndex ? -1 : y))
      const logits = Float64Array.from(ce.logits.data)
      const grad = new Float64Array(rows * classes)
      const value = crossEntropy(grad, logits, targets, rows, classes)
      assertClose(t, [value], [ce.value], 'value')
      assertClose(t, grad, ce.grad_logits.data, 'grad')
      t.equal(crossEntropy(null, logits, targets, rows, classes), value, 'same value without a gradient')
      t.same(Array.from(logits), ce.logits.data, 'logits untouched')
    } else if (c.loss === 'mse') {
      const m = c as MseCase
      const n = m.pred.data.length
      const grad = new Float64Array(n)
      const value = mse(grad, Float64Array.from(m.pred.data), Float64Array.from(m.target.data), n)
      assertClose(t, [value], [m.value], 'value')
      assertClose(t, grad, m.grad_pred.data, 'grad')
    } else {
      t.fail(`unsupported loss '${c.loss}'`)
    }
  })
})

// Central finite differences of the loss as an independent check of the gradient.
function numericGradient(f: (x: Float64Array) => number, x: Float64Array): Float64Array {
  const out = new Float64Array(x.length)
  const h = 1e-6
  for (let i = 0; i < x.length; i++) {
    const saved = x[i]
    x[i] = saved + h
    const up = f(x)
    x[i] = saved - h
    const down = f(x)
    x[i] = saved
    out[i] = (up - down) / (2 * h)
  }
  return out
}

t.test('cross-entropy ignores rows with negative targets (mean over the rest)', async (t) => {
  const rows = 4
  const classes = 3
  const logits = Float64Array.of(0.2, -1, 3, 1, 1, 1, 5, -2, 0.5, -0.3, 0.8, 0.1)
  const targets = Int32Array.of(2, -1, 0, -100)
  const grad = new Float64Array(rows * classes).fill(9)
  const value = crossEntropy(grad, logits, targets, rows, classes)

  const lse = (a: number, b: number, c: number) => Math.log(Math.exp(a) + Math.exp(b) + Math.exp(c))
  const expected = (lse(0.2, -1, 3) - 3 + lse(5, -2, 0.5) - 5) / 2
  t.ok(Math.abs(value - expected) < 1e-12, `value ${value} vs ${expected}`)
  t.same(Array.from(grad.subarray(3, 6)), [0, 0, 0], 'ignored row has zero gradient')
  t.same(Array.from(grad.subarray(9, 12)), [0, 0, 0], 'ignored row has zero gradient')
  const numeric = numericGradient((x) => crossEntropy(null, x, targets, rows, classes), logits)
  assertClose(t, grad, numeric, 'matches finite differences')
  for (let r = 0; r < rows; r++) {
    const rowSum = grad[r * classes] + grad[r * classes + 1] + grad[r * classes + 2]
    t.ok(Math.abs(rowSum) < 1e-15, `gradient row ${r} sums to 0`)
  }
})

t.test('cross-entropy with every row ignored is 0 with a zero gradient', async (t) => {
  const grad = new Float64Array(6).fill(1)
  t.equal(crossEntropy(grad, Float64Array.of(1, 2, 3, 4, 5, 6), Int32Array.of(-1, -100), 2, 3), 0)
  t.same(Array.from(grad), [0, 0, 0, 0, 0, 0])
  t.equal(crossEntropy(null, new Float64Array(0), new Int32Array(0), 0, 3), 0)
})

t.test('cross-entropy may write its gradient over the logits', async (t) => {
  const logits = Float64Array.of(1, -2, 0.5, 300, -300, 299)
  const targets = Int32Array.of(1, 2)
  const separate = new Float64Array(6)
  const value = crossEntropy(separate, logits, targets, 2, 3)
  const inPlace = logits.slice()
  t.equal(crossEntropy(inPlace, inPlace, targets, 2, 3), value)
  t.same(Array.from(inPlace), Array.from(separate))
})

t.test('cross-entropy rejects bad shapes and targets', async (t) => {
  const logits = new Float64Array(6)
  t.throws(() => crossEntropy(null, logits, Int32Array.of(0, 3), 2, 3), { name: 'RangeError', message: /target 3/ })
  t.throws(() => crossEntropy(null, logits, Int32Array.of(0), 2, 3), RangeError)
  t.throws(() => crossEntropy(null, logits, Int32Array.of(0, 0, 0), 3, 3), RangeError)
  t.throws(() => crossEntropy(new Float64Array(5), logits, Int32Array.of(0, 0), 2, 3), RangeError)
  t.throws(() => crossEntropy(null, logits, Int32Array.of(0, 0), 2, 0), RangeError)
})

t.test('logSoftmax and softmax are stable and consistent', async (t) => {
  const logits = Float64Array.of(1000, 1001, 999, -5, 0, 5, 0, 0, 0)
  const logp = logSoftmax(new Float64Array(9), logits, 3, 3)
  const p = softmax(new Float64Array(9), logits, 3, 3)
  t.ok(logp.every(Number.isFinite) && p.every(Number.isFinite), 'no overflow')
  for (let r = 0; r < 3; r++) {
    const sum = p[3 * r] + p[3 * r + 1] + p[3 * r + 2]
    t.ok(Math.abs(sum - 1) < 1e-15, `row ${r} sums to 1`)
  }
  assertClose(t, p, Array.from(logp, Math.exp), 'softmax = exp(logSoftmax)')
  // Shift invariance: row 0 equals softmax of (0, 1, -1).
  const e = [1, Math.E, 1 / Math.E]
  const z = e[0] + e[1] + e[2]
  assertClose(t, p.subarray(0, 3), e.map((v) => v / z), 'large logits row')
  t.same(Array.from(p.subarray(6, 9)), [1 / 3, 1 / 3, 1 / 3])

  const inPlace = logits.slice()
  logSoftmax(inPlace, inPlace, 3, 3)
  t.same(Array.from(inPlace), Array.from(logp), 'logSoftmax in place')
  const inPlace2 = logits.slice()
  softmax(inPlace2, inPlace2, 3, 3)
  t.same(Array.from(inPlace2), Array.from(p), 'softmax in place')
  t.throws(() => softmax(new Float64Array(8), logits, 3, 3), RangeError)
})

t.test('mse matches its definition and finite differences', async (t) => {
  const pred = Float64Array.of(1, -2, 0.5, 3)
  const target = Float64Array.of(0, -1, 0.5, 1)
  const grad = new Float64Array(4)
  t.equal(mse(grad, pred, target, 4), (1 + 1 + 0 + 4) / 4)
  t.same(Array.from(grad), [0.5, -0.5, 0, 1])
  assertClose(t, grad, numericGradient((x) => mse(null, x, target, 4), pred), 'matches finite differences')
  // Only the first n values count.
  t.equal(mse(null, pred, target, 2), 1)
  t.equal(mse(null, pred, target, 0), 0)
  t.throws(() => mse(null, pred, target, 5), RangeError)
  t.throws(() => mse(new Float64Array(3), pred, target, 4), RangeError)
})
