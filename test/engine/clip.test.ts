import type { FixtureTensor } from '../../src/parity/fixture.js'
import { assertClose as assertWithin, loadReference } from '../helpers/engine.js'
import t, { type Test } from 'tap'
import { clipGradNorm, l2Norm } from '../../src/engine/clip.js'

type Tensor = FixtureTensor
const reference = loadReference()
/** |ours - ref| <= 1e-5 * max(1, |ref|) everywhere, the tolerance for these tensors. */
const assertClose = (t: Test, ours: ArrayLike<number>, ref: ArrayLike<number>, label: string) => assertWithin(t, ours, ref, 1e-5, label)

interface ClipCase {
  max_norm: number
  norm_type: number | string
  grads: Tensor[]
  total_norm: number
  clipped: Tensor[]
}

const flatten = (tensors: Tensor[]): Float64Array => Float64Array.from(tensors.flatMap((x) => x.data))

const cases = reference.clip_grad_norm as ClipCase[]

t.test('fixture has clip cases', async (t) => {
  t.ok(Array.isArray(cases) && cases.length > 0)
})

cases.forEach((c, index) => {
  t.test(`torch parity #${index}: max_norm ${c.max_norm}`, async (t) => {
    t.equal(Number(c.norm_type), 2, 'only the L2 norm is implemented')
    const grads = flatten(c.grads)
    const total = clipGradNorm(grads, c.max_norm)
    assertClose(t, [total], [c.total_norm], 'total norm')
    assertClose(t, grads, flatten(c.clipped), 'clipped gradients')
  })
})

t.test('clipping scales to max_norm / (norm + 1e-6) and never scales up', async (t) => {
  const grads = Float64Array.of(3, 4)
  t.equal(clipGradNorm(grads, 1), 5)
  const coef = 1 / (5 + 1e-6)
  t.same(Array.from(grads), [3 * coef, 4 * coef])
  t.ok(l2Norm(grads) < 1, 'norm just below max_norm because of the 1e-6')

  const small = Float64Array.of(0.3, -0.4)
  t.equal(clipGradNorm(small, 1), 0.5)
  t.same(Array.from(small), [0.3, -0.4], 'untouched below the limit')

  const measured = Float64Array.of(30, 40)
  t.equal(clipGradNorm(measured, Infinity), 50)
  t.same(Array.from(measured), [30, 40], 'Infinity only measures')

  const zeroed = Float64Array.of(1, 2)
  clipGradNorm(zeroed, 0)
  t.same(Array.from(zeroed), [0, 0], 'max_norm 0 zeroes the gradients')

  t.equal(clipGradNorm(new Float64Array(0), 1), 0)
})

t.test('non-finite norms are returned and leave gradients untouched', async (t) => {
  const withNaN = Float64Array.of(1, NaN, 2)
  t.ok(Number.isNaN(clipGradNorm(withNaN, 1)))
  t.ok(withNaN[0] === 1 && Number.isNaN(withNaN[1]) && withNaN[2] === 2)
  const withInf = Float64Array.of(1, -Infinity, 2)
  t.equal(clipGradNorm(withInf, 1), Infinity)
  t.same(Array.from(withInf), [1, -Infinity, 2])
  const both = Float64Array.of(Infinity, NaN)
  t.ok(Number.isNaN(clipGradNorm(both, 1)), 'NaN wins over Infinity')
})

t.test('huge but finite gradients do not overflow the norm', async (t) => {
  const grads = Float64Array.of(3e200, 4e200)
  const total = clipGradNorm(grads, 1)
  t.ok(Math.abs(total / 5e200 - 1) < 1e-15, `total ${total}`)
  t.ok(Math.abs(l2Norm(grads) - 1) < 1e-6, 'clipped to unit norm')
})

t.test('maxNorm must be a number >= 0', async (t) => {
  t.throws(() => clipGradNorm(Float64Array.of(1), -1), RangeError)
  t.throws(() => clipGradNorm(Float64Array.of(1), NaN), RangeError)
})
