import type { FixtureTensor } from '../../src/parity/fixture.js'
import { assertClose as assertWithin, loadReference } from '../helpers/engine.js'
import t, { type Test } from 'tap'
import {
  createOptimizer,
  OPTIMIZER_NAMES,
  type OptimizerName,
  type OptimizerOptions,
} from '../../src/engine/optimizers.js'

type Tensor = FixtureTensor
const reference = loadReference()
/** |ours - ref| <= 1e-5 * max(1, |ref|) everywhere, the tolerance for these tensors. */
const assertClose = (t: Test, ours: ArrayLike<number>, ref: ArrayLike<number>, label: string) => assertWithin(t, ours, ref, 1e-5, label)

interface OptimizerCase {
  optimizer: string
  options: Record<string, unknown>
  p0: Tensor
  grads: Tensor[]
  params_after_each_step: Tensor[]
}

/** Flags that only choose PyTorch's kernel, not the arithmetic. */
const IMPLEMENTATION_FLAGS = new Set(['foreach', 'fused', 'capturable', 'differentiable'])

function toOptions(raw: Record<string, unknown>): OptimizerOptions {
  const options: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(raw)) if (!IMPLEMENTATION_FLAGS.has(key)) options[key] = value
  return options as unknown as OptimizerOptions
}

const cases = reference.optimizers as OptimizerCase[]

t.test('fixture has optimizer cases', async (t) => {
  t.ok(Array.isArray(cases) && cases.length > 0)
})

cases.forEach((c, index) => {
  t.test(`torch parity #${index}: ${c.optimizer} ${JSON.stringify(c.options)}`, async (t) => {
    t.ok(OPTIMIZER_NAMES.includes(c.optimizer as OptimizerName), `known optimizer ${c.optimizer}`)
    const params = Float64Array.from(c.p0.data)
    const opt = createOptimizer(c.optimizer as OptimizerName, params.length, toOptions(c.options))
    t.equal(c.grads.length, c.params_after_each_step.length)
    c.grads.forEach((g, step) => {
      opt.step(params, Float64Array.from(g.data))
      assertClose(t, params, c.params_after_each_step[step].data, `step ${step + 1}`)
    })
    t.equal(opt.stepCount, c.grads.length)
  })
})

t.test('state saved mid-run continues with identical steps', async (t) => {
  const size = 5
  const grad = (k: number) => Float64Array.from({ length: size }, (_, i) => Math.sin(1.3 * k + 0.7 * i) * (1 + i))
  const configs: Array<[OptimizerName, OptimizerOptions]> = [
    ['adam', { lr: 0.05, amsgrad: true, weight_decay: 0.01 }],
    ['adamw', { lr: 0.05 }],
    ['sgd', { lr: 0.1, momentum: 0.9, nesterov: true }],
    ['sgd', { lr: 0.1 }],
    ['rmsprop', { lr: 0.01, momentum: 0.5, centered: true }],
    ['adagrad', { lr: 0.1, lr_decay: 0.01, initial_accumulator_value: 0.1 }],
  ]
  for (const [name, options] of configs) {
    const params = Float64Array.from({ length: size }, (_, i) => i - 2)
    const original = createOptimizer(name, size, options)
    for (let k = 0; k < 3; k++) original.step(params, grad(k))
    const saved = original.getState()
    const savedParams = params.slice()

    for (let k = 3; k < 8; k++) original.step(params, grad(k))
    // getState returned a copy: continuing the original must not have touched it.
    const restored = createOptimizer(name, size, options)
    restored.setState(saved)
    t.equal(restored.stepCount, 3)
    for (let k = 3; k < 8; k++) restored.step(savedParams, grad(k))
    t.same(Array.from(savedParams), Array.from(params), `${name} ${JSON.stringify(options)} resumes identically`)
  }
})

t.test('state buffers use PyTorch names and setState validates them', async (t) => {
  t.same(Object.keys(createOptimizer('adam', 3, { lr: 1 }).getState().buffers).sort(), ['exp_avg', 'exp_avg_sq'])
  t.same(Object.keys(createOptimizer('adamw', 3, { lr: 1, amsgrad: true }).getState().buffers).sort(), [
    'exp_avg',
    'exp_avg_sq',
    'max_exp_avg_sq',
  ])
  t.same(Object.keys(createOptimizer('sgd', 3, { lr: 1 }).getState().buffers), [])
  t.same(Object.keys(createOptimizer('sgd', 3, { lr: 1, momentum: 0.9 }).getState().buffers), ['momentum_buffer'])
  t.same(
    Object.keys(createOptimizer('rmsprop', 3, { lr: 1, momentum: 0.1, centered: true }).getState().buffers).sort(),
    ['grad_avg', 'momentum_buffer', 'square_avg'],
  )
  const adagrad = createOptimizer('adagrad', 3, { lr: 1, initial_accumulator_value: 0.5 })
  t.same(Array.from(adagrad.getState().buffers.sum), [0.5, 0.5, 0.5])

  const adam = createOptimizer('adam', 3, { lr: 1 })
  const good = adam.getState()
  t.throws(() => adam.setState({ step: 1, buffers: { exp_avg: new Float64Array(3) } }), RangeError)
  t.throws(() => adam.setState({ ...good, step: -1 }), RangeError)
  t.throws(
    () => adam.setState({ step: 1, buffers: { exp_avg: new Float64Array(3), exp_avg_sq: new Float64Array(4) } }),
    RangeError,
  )
  t.throws(() => adam.step(new Float64Array(3), new Float64Array(2)), RangeError)
})

t.test('options get PyTorch defaults', async (t) => {
  t.same(createOptimizer('adam', 1, { lr: 0.001 }).options, {
    lr: 0.001, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0, amsgrad: false, maximize: false,
  })
  t.equal(createOptimizer('adamw', 1, { lr: 0.001 }).options.lr, 0.001)
  t.match(createOptimizer('adamw', 1, { lr: 0.001 }).options, { weight_decay: 0.01 })
  t.same(createOptimizer('sgd', 1, { lr: 0.1 }).options, {
    lr: 0.1, momentum: 0, dampening: 0, nesterov: false, weight_decay: 0, maximize: false,
  })
  t.same(createOptimizer('rmsprop', 1, { lr: 0.01 }).options, {
    lr: 0.01, alpha: 0.99, eps: 1e-8, weight_decay: 0, momentum: 0, centered: false, maximize: false,
  })
  t.same(createOptimizer('adagrad', 1, { lr: 0.01 }).options, {
    lr: 0.01, lr_decay: 0, weight_decay: 0, initial_accumulator_value: 0, eps: 1e-10, maximize: false,
  })
})

t.test('invalid options throw RangeError with a clear message', async (t) => {
  const bad: Array<[OptimizerName, OptimizerOptions, RegExp]> = [
    ['adam', { lr: 0 }, /lr must be .*> 0/],
    ['adam', { lr: -1 }, /lr/],
    ['adam', { lr: NaN }, /lr/],
    ['adam', {} as OptimizerOptions, /lr/],
    ['adam', { lr: 1, betas: [1, 0.999] }, /betas\[0\]/],
    ['adamw', { lr: 1, betas: [0.9, -0.1] }, /betas\[1\]/],
    ['adam', { lr: 1, betas: [0.9] as unknown as [number, number] }, /pair/],
    ['adam', { lr: 1, eps: -1e-8 }, /eps/],
    ['adam', { lr: 1, weight_decay: -0.1 }, /weight_decay/],
    ['adam', { lr: 1, momentum: 0.9 }, /'momentum' does not apply/],
    ['sgd', { lr: 1, nesterov: true }, /nesterov requires momentum/],
    ['sgd', { lr: 1, momentum: 0.9, dampening: 0.1, nesterov: true }, /nesterov requires .*dampening/],
    ['sgd', { lr: 1, momentum: -0.1 }, /momentum/],
    ['sgd', { lr: 1, betas: [0.9, 0.99] }, /'betas' does not apply/],
    ['rmsprop', { lr: 1, alpha: 1.5 }, /alpha/],
    ['rmsprop', { lr: 1, centered: 'yes' as unknown as boolean }, /centered must be a boolean/],
    ['adagrad', { lr: 1, lr_decay: -1 }, /lr_decay/],
    ['adagrad', { lr: 1, initial_accumulator_value: -1 }, /initial_accumulator_value/],
  ]
  for (const [name, options, message] of bad) {
    t.throws(() => createOptimizer(name, 4, options), { name: 'RangeError', message }, `${name} ${JSON.stringify(options)}`)
  }
  t.throws(() => createOptimizer('lion' as OptimizerName, 4, { lr: 1 }), { name: 'RangeError', message: /unknown optimizer/ })
  t.throws(() => createOptimizer('sgd', -1, { lr: 1 }), RangeError)
  t.throws(() => createOptimizer('sgd', 1.5, { lr: 1 }), RangeError)
  // undefined entries count as absent
  t.doesNotThrow(() => createOptimizer('sgd', 4, { lr: 1, betas: undefined }))
})

// Options the fixture does not exercise, checked against PyTorch's documented pseudo-code
// written out directly for one scalar parameter (a different arrangement of the arithmetic).
t.test('options beyond the fixture follow the documented algorithms', async (t) => {
  const gs = [0.5, -2, 3, 0.1, 0.05, -0.02]
  const run = (name: OptimizerName, options: OptimizerOptions, p0: number): number[] => {
    const p = Float64Array.of(p0)
    const opt = createOptimizer(name, 1, options)
    return gs.map((g) => {
      opt.step(p, Float64Array.of(g))
      return p[0]
    })
  }

  {
    // Adam, amsgrad + maximize + L2: v_max tracks the running max of v.
    const lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.05
    let p = 1, m = 0, v = 0, vmax = 0
    const expected = gs.map((grad, k) => {
      const step = k + 1
      const g = -grad + wd * p
      m = b1 * m + (1 - b1) * g
      v = b2 * v + (1 - b2) * g * g
      vmax = Math.max(vmax, v)
      const mHat = m / (1 - b1 ** step)
      const vHat = vmax / (1 - b2 ** step)
      p -= (lr * mHat) / (Math.sqrt(vHat) + eps)
      return p
    })
    assertClose(t, run('adam', { lr, amsgrad: true, maximize: true, weight_decay: wd }, 1), expected, 'adam amsgrad')
  }
  {
    // SGD with dampening and weight decay.
    const lr = 0.1, mu = 0.8, tau = 0.3, wd = 0.1
    let p = 1, b = 0
    const expected = gs.map((grad, k) => {
      const g = grad + wd * p
      b = k === 0 ? g : mu * b + (1 - tau) * g
      p -= lr * b
      return p
    })
    assertClose(t, run('sgd', { lr, momentum: mu, dampening: tau, weight_decay: wd }, 1), expected, 'sgd dampening')
  }
  {
    // Centered RMSprop with momentum and weight decay.
    const lr = 0.01, alpha = 0.9, eps = 1e-8, mu = 0.7, wd = 0.02
    let p = 1, v = 0, gAvg = 0, b = 0
    const expected = gs.map((grad) => {
      const g = grad + wd * p
      v = alpha * v + (1 - alpha) * g * g
      gAvg = alpha * gAvg + (1 - alpha) * g
      const vTilde = v - gAvg * gAvg
      b = mu * b + g / (Math.sqrt(vTilde) + eps)
      p -= lr * b
      return p
    })
    assertClose(
      t,
      run('rmsprop', { lr, alpha, momentum: mu, centered: true, weight_decay: wd }, 1),
      expected,
      'rmsprop centered',
    )
  }
  {
    // Adagrad with lr decay, weight decay and an initial accumulator.
    const lr = 0.1, decay = 0.5, wd = 0.1, init = 0.2, eps = 1e-10
    let p = 1, sum = init
    const expected = gs.map((grad, k) => {
      const g = grad + wd * p
      const clr = lr / (1 + k * decay)
      sum += g * g
      p -= (clr * g) / (Math.sqrt(sum) + eps)
      return p
    })
    assertClose(
      t,
      run('adagrad', { lr, lr_decay: decay, weight_decay: wd, initial_accumulator_value: init }, 1),
      expected,
      'adagrad lr_decay',
    )
  }
})
