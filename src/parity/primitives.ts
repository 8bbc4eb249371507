import { clipGradNorm } from '../engine/clip.js'
import { crossEntropy, mse } from '../engine/losses.js'
import { createOptimizer, isOptimizerName, type OptimizerOptions } from '../engine/optimizers.js'
import { type CaseResult, Comparison, resultOf } from './compare.js'
import type { ClipCase, CrossEntropyCase, MseCase, OptimizerCase } from './fixture.js'

const TOLERANCE = 1e-5

export function checkOptimizer(c: OptimizerCase, index: number): CaseResult {
  const cmp = new Comparison(TOLERANCE)
  const name = `optimizers[${index}] ${c.optimizer} ${JSON.stringify(c.options)}`
  try {
    if (!isOptimizerName(c.optimizer)) throw new Error(`unknown optimizer ${c.optimizer}`)
    const params = Float64Array.from(c.p0.data)
    const optimizer = createOptimizer(c.optimizer, params.length, c.options as unknown as OptimizerOptions)
    c.grads.forEach((g, step) => {
      optimizer.step(params, Float64Array.from(g.data))
      const ref = c.params_after_each_step[step]
      if (ref) cmp.tensor(`params after step ${step + 1}`, params, ref.data)
    })
  } catch (err) {
    cmp.fail(`error: ${(err as Error).message}`)
  }
  return resultOf(name, cmp)
}

export function checkLoss(c: CrossEntropyCase | MseCase, index: number): CaseResult {
  const cmp = new Comparison(TOLERANCE)
  const name = `losses[${index}] ${c.loss}`
  try {
    if (c.loss === 'cross_entropy') {
      const [rows, classes] = c.logits.shape
      const grad = new Float64Array(rows * classes)
      const value = crossEntropy(grad, Float64Array.from(c.logits.data), Int32Array.from(c.targets), rows, classes)
      cmp.scalar('value', value, c.value)
      cmp.tensor('grad logits', grad, c.grad_logits.data)
    } else if (c.loss === 'mse') {
      const n = c.pred.data.length
      const grad = new Float64Array(n)
      const value = mse(grad, Float64Array.from(c.pred.data), Float64Array.from(c.target.data), n)
      cmp.scalar('value', value, c.value)
      cmp.tensor('grad pred', grad, c.grad_pred.data)
    } else {
      throw new Error(`unknown loss ${(c as { loss: string }).loss}`)
    }
  } catch (err) {
    cmp.fail(`error: ${(err as Error).message}`)
  }
  return resultOf(name, cmp)
}

export function checkClip(c: ClipCase, index: number): CaseResult {
  const cmp = new Comparison(TOLERANCE)
  const name = `clip_grad_norm[${index}] max_norm=${c.max_norm}`
  try {
    if ((c.norm_type ?? 2) !== 2) throw new Error(`norm_type ${c.norm_type} is not supported (only 2)`)
    const flat = Float64Array.from(c.grads.flatMap((g) => g.data))
    const total = clipGradNorm(flat, c.max_norm)
    cmp.scalar('total norm', total, c.total_norm)
    cmp.tensor('clipped', flat, c.clipped.flatMap((g) => g.data))
  } catch (err) {
    cmp.fail(`error: ${(err as Error).message}`)
  }
  return resultOf(name, cmp)
}
